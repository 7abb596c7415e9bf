"""Pure document renderers: plain data in, bytes out. They never touch the database.

Loading rows into the dataclasses of `data` happens one layer up (communications.documents);
`attachments.render_attachment` is that thin layer for the outbox sender.
"""

import logging

# WeasyPrint logs every step and every page at INFO: a certificate run of thousands of pages
# would flood the worker log. Set before weasyprint is first imported (it logs on import).
logging.getLogger("weasyprint.progress").setLevel(logging.WARNING)
