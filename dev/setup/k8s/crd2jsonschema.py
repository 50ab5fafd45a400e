"""Converts CustomResourceDefinition YAML into JSON Schema files that kubeconform can load.

One file per served version: <out>/<group>/<kind lower>_<version>.json, the layout of kubeconform's
`{{.Group}}/{{.ResourceKind}}_{{.ResourceAPIVersion}}.json` schema-location template.

What changes from the CRD's openAPIV3Schema, and why:
- `nullable: true` becomes a `null` alternative in `type` (JSON Schema has no `nullable`).
- `x-kubernetes-int-or-string: true` becomes "integer or string" (the API server accepts both).
- Strict mode: every object that lists `properties` and neither allows unknown fields
  (`x-kubernetes-preserve-unknown-fields`) nor declares `additionalProperties` gets
  `additionalProperties: false`, so a misspelt field fails like the API server's field validation does.
- The root gets `apiVersion`/`kind` pinned to the CRD's group/version/kind.

Usage: crd2jsonschema.py <out dir> <crd.yaml>...
"""

import json
import os
import sys

import yaml

# A bare `=` (an enum value in the prometheus-operator CRDs) is YAML 1.1's "value" tag; PyYAML has no
# constructor for it. Read it as the string it is.
yaml.SafeLoader.add_constructor("tag:yaml.org,2002:value", lambda loader, node: loader.construct_scalar(node))


def convert(node, strict):
    if isinstance(node, list):
        return [convert(x, strict) for x in node]
    if not isinstance(node, dict):
        return node
    out = {k: convert(v, strict) for k, v in node.items() if k != "nullable"}
    if node.get("x-kubernetes-int-or-string") is True:
        out.pop("type", None)
        out["anyOf"] = [{"type": "integer"}, {"type": "string"}]
        out.pop("x-kubernetes-int-or-string", None)
    if node.get("nullable") is True and isinstance(out.get("type"), str):
        out["type"] = [out["type"], "null"]
    if (
        strict
        and isinstance(out.get("properties"), dict)
        and "additionalProperties" not in out
        and node.get("x-kubernetes-preserve-unknown-fields") is not True
    ):
        out["additionalProperties"] = False
    return out


def main(out_dir, files):
    written = 0
    for path in files:
        with open(path, encoding="utf-8") as f:
            docs = [d for d in yaml.safe_load_all(f) if isinstance(d, dict)]
        for crd in docs:
            if crd.get("kind") != "CustomResourceDefinition":
                continue
            spec = crd["spec"]
            group = spec["group"]
            kind = spec["names"]["kind"]
            for version in spec.get("versions", []):
                if not version.get("served", True):
                    continue
                schema = (version.get("schema") or {}).get("openAPIV3Schema")
                if schema is None:
                    raise SystemExit(f"{path}: {kind} {version['name']} has no openAPIV3Schema")
                root = convert(schema, strict=True)
                props = root.setdefault("properties", {})
                props["apiVersion"] = {"type": "string", "enum": [f"{group}/{version['name']}"]}
                props["kind"] = {"type": "string", "enum": [kind]}
                props.setdefault("metadata", {"type": "object"})
                root["$schema"] = "http://json-schema.org/draft-07/schema#"
                target = os.path.join(out_dir, group, f"{kind.lower()}_{version['name']}.json")
                os.makedirs(os.path.dirname(target), exist_ok=True)
                with open(target, "w", encoding="utf-8") as f:
                    json.dump(root, f, indent=1, sort_keys=True)
                written += 1
    print(f"crd2jsonschema: {written} schemas in {out_dir}")


if __name__ == "__main__":
    if len(sys.argv) < 3:
        raise SystemExit(__doc__)
    main(sys.argv[1], sys.argv[2:])
