#!/usr/bin/env python3
"""Extracts the emulator's operations from MongoDB's official Atlas Admin API
v2 OpenAPI document (github.com/mongodb/openapi, openapi/v2.json).

    python3 extract.py path/to/v2.json > atlas-admin-v2-subset.json

Keeps, verbatim: `openapi`, `info`, `servers`, `security`, the path
items below (only the methods the emulator serves, plus the path item's own
non-method keys) and every component (`parameters`, `responses`, `schemas`,
`securitySchemes`) they reference transitively: `$ref`s anywhere in a kept
value, including inside `allOf`/`oneOf`/`anyOf`, `items`, `properties`,
`additionalProperties`, and the targets of `discriminator.mapping`.
"""

import json
import sys

PREFIX = "/api/atlas/v2"

# path -> methods the emulator serves (see src/server.rs, src/resources/*.rs).
OPERATIONS = {
    # Resource policies (server.rs).
    "/orgs/{orgId}/resourcePolicies": ["get", "post"],
    "/orgs/{orgId}/resourcePolicies:validate": ["post"],
    "/orgs/{orgId}/resourcePolicies/{resourcePolicyId}": ["get", "patch", "delete"],
    "/orgs/{orgId}/nonCompliantResources": ["get"],
    # Atlas Search indexes (resources/search.rs).
    "/groups/{groupId}/clusters/{clusterName}/search/indexes": ["get", "post"],
    "/groups/{groupId}/clusters/{clusterName}/search/indexes/{indexId}": ["get", "patch", "delete"],
    "/groups/{groupId}/clusters/{clusterName}/search/indexes/{databaseName}/{collectionName}/{indexName}": ["get", "patch", "delete"],
    # Snapshot export buckets (resources/export_buckets.rs).
    "/groups/{groupId}/backup/exportBuckets": ["get", "post"],
    "/groups/{groupId}/backup/exportBuckets/{exportBucketId}": ["get", "patch", "delete"],
    # Private endpoint services and endpoints (resources/private_endpoints.rs).
    "/groups/{groupId}/privateEndpoint/endpointService": ["post"],
    "/groups/{groupId}/privateEndpoint/{cloudProvider}/endpointService": ["get"],
    "/groups/{groupId}/privateEndpoint/{cloudProvider}/endpointService/{endpointServiceId}": ["get", "delete"],
    "/groups/{groupId}/privateEndpoint/{cloudProvider}/endpointService/{endpointServiceId}/endpoint": ["post"],
    "/groups/{groupId}/privateEndpoint/{cloudProvider}/endpointService/{endpointServiceId}/endpoint/{endpointId}": ["get", "delete"],
    # Data federation private endpoints (resources/federation.rs).
    "/groups/{groupId}/privateNetworkSettings/endpointIds": ["get", "post"],
    "/groups/{groupId}/privateNetworkSettings/endpointIds/{endpointId}": ["get", "delete"],
    # Organization API keys (resources/api_keys.rs).
    "/orgs/{orgId}/apiKeys": ["get", "post"],
    "/orgs/{orgId}/apiKeys/{apiUserId}": ["get", "patch", "delete"],
    # Stream processors (resources/streams.rs).
    "/groups/{groupId}/streams/{tenantName}/processors": ["get"],
    "/groups/{groupId}/streams/{tenantName}/processor": ["post"],
    "/groups/{groupId}/streams/{tenantName}/processor/{processorName}": ["get", "patch", "delete"],
    "/groups/{groupId}/streams/{tenantName}/processor/{processorName}:start": ["post"],
    "/groups/{groupId}/streams/{tenantName}/processor/{processorName}:stop": ["post"],
}

METHODS = {"get", "put", "post", "delete", "options", "head", "patch", "trace"}


def refs(value, out):
    """Collects every `$ref` and discriminator mapping target in `value`."""
    if isinstance(value, dict):
        for k, v in value.items():
            if k == "$ref" and isinstance(v, str):
                out.append(v)
            elif k == "discriminator" and isinstance(v, dict):
                out.extend(t for t in v.get("mapping", {}).values() if isinstance(t, str))
                refs(v, out)
            else:
                refs(v, out)
    elif isinstance(value, list):
        for v in value:
            refs(v, out)


def main():
    spec = json.load(open(sys.argv[1], encoding="utf-8"))
    paths = {}
    missing = []
    for path, methods in OPERATIONS.items():
        item = spec["paths"].get(PREFIX + path)
        if item is None:
            missing.append(path)
            continue
        kept = {k: v for k, v in item.items() if k not in METHODS or k in methods}
        absent = [m for m in methods if m not in item]
        if absent:
            missing.append(f"{path} {absent}")
        paths[PREFIX + path] = kept
    components = {}
    todo = []
    refs(paths, todo)
    seen = set()
    while todo:
        ref = todo.pop()
        if ref in seen:
            continue
        seen.add(ref)
        parts = ref.split("/")
        if parts[:2] != ["#", "components"] or len(parts) != 4:
            sys.exit(f"unexpected $ref {ref}")
        kind, name = parts[2], parts[3].replace("~1", "/").replace("~0", "~")
        value = spec["components"][kind][name]
        components.setdefault(kind, {})[name] = value
        refs(value, todo)
    components["securitySchemes"] = spec["components"]["securitySchemes"]
    out = {
        "openapi": spec["openapi"],
        "info": spec["info"],
        "servers": spec["servers"],
        "security": spec["security"],
        "paths": paths,
        "components": {k: dict(sorted(v.items())) for k, v in sorted(components.items())},
    }
    json.dump(out, sys.stdout, indent=2, ensure_ascii=False)
    sys.stdout.write("\n")
    for m in missing:
        print(f"not in the spec: {m}", file=sys.stderr)


if __name__ == "__main__":
    main()
