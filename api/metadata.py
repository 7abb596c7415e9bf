"""What the API answers to OPTIONS (REST_FRAMEWORK["DEFAULT_METADATA_CLASS"])."""

from django.urls import reverse
from rest_framework.metadata import BaseMetadata


class ApiMetadata(BaseMetadata):
    """The endpoint's name, description and formats, and where its contract is: the OpenAPI
    schema describes every request and response body once.

    DRF's SimpleMetadata also describes "actions" by instantiating the view's
    `serializer_class` for POST/PUT. Our views validate input with their own input serializers
    and most set no serializer_class, so that crashed with an AssertionError (a 500 on OPTIONS,
    anonymous ones included); where a serializer_class is set it is the output's, so the body
    it described was the wrong one. Methods are in the Allow header DRF adds."""

    def determine_metadata(self, request, view) -> dict:
        return {
            "name": view.get_view_name(),
            "description": view.get_view_description(),
            "renders": [renderer.media_type for renderer in view.renderer_classes],
            "parses": [parser.media_type for parser in view.parser_classes],
            "schema": request.build_absolute_uri(reverse("api:schema")),
        }
