"""OpenAPI schema post-processing (drf-spectacular POSTPROCESSING_HOOKS)."""

REF_PREFIX = "#/components/schemas/"


def _refs(node) -> set[str]:
    """Names of the components that `node` references directly."""
    found: set[str] = set()
    stack = [node]
    while stack:
        item = stack.pop()
        if isinstance(item, dict):
            ref = item.get("$ref")
            if isinstance(ref, str) and ref.startswith(REF_PREFIX):
                found.add(ref.removeprefix(REF_PREFIX))
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
    return found


def _drop_min_length_one(node) -> None:
    stack = [node]
    while stack:
        item = stack.pop()
        if isinstance(item, dict):
            if item.get("minLength") == 1 and item.get("type") == "string":
                del item["minLength"]
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)


def blank_checks_for_requests_only(result, generator, request, public):
    """ENFORCE_NON_BLANK_FIELDS gives every CharField without allow_blank a minLength of 1:
    right for input (DRF refuses a blank value), wrong for output, where the same kind of
    field may well hold "" (an event without description, a contact without phone), because
    DRF never validates what a view returns. Keep minLength 1 on components that requests can
    reach (bodies, parameters) and drop it from components only responses use. (No output
    field here declares min_length=1 itself; COMPONENT_SPLIT_REQUEST would do the same but
    renames every input component to "...Request".)"""
    components = result.get("components", {}).get("schemas", {})
    request_side: set[str] = set()
    for operations in result.get("paths", {}).values():
        for operation in operations.values():
            if isinstance(operation, dict):
                for key, part in operation.items():
                    if key == "responses":
                        _drop_min_length_one(part)  # inline response schemas
                    else:
                        request_side |= _refs(part)
    pending = list(request_side)
    while pending:
        for name in _refs(components.get(pending.pop(), {})) - request_side:
            request_side.add(name)
            pending.append(name)
    for name, component in components.items():
        if name not in request_side:
            _drop_min_length_one(component)
    return result
