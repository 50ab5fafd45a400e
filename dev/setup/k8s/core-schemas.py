"""Copies kubernetes-validate's bundled Kubernetes JSON schemas into a folder kubeconform can load offline.

kubernetes-validate resolves `$ref: /api/_definitions.json#...` against its own `$id`s
(`https://kubernetes.io/api/...`); kubeconform would try to fetch those URLs. Dropping the `$id`s and making
the references file-relative lets both resolve `_definitions.json` next to the schema file. The schema
content itself is unchanged.

Usage: core-schemas.py <kubernetes-validate version dir> <out dir>
"""

import json
import os
import sys


def relink(node):
    if isinstance(node, dict):
        out = {}
        for k, v in node.items():
            if k == "$id":
                continue
            if k == "$ref" and isinstance(v, str) and v.startswith("/api/_definitions.json"):
                v = v[len("/api/") :]
            out[k] = relink(v)
        return out
    if isinstance(node, list):
        return [relink(x) for x in node]
    return node


def main(src, dst):
    os.makedirs(dst, exist_ok=True)
    count = 0
    for name in sorted(os.listdir(src)):
        if not name.endswith(".json"):
            continue
        with open(os.path.join(src, name), encoding="utf-8") as f:
            schema = json.load(f)
        with open(os.path.join(dst, name), "w", encoding="utf-8") as f:
            json.dump(relink(schema), f)
        count += 1
    print(f"core-schemas: {count} schemas in {dst}")


if __name__ == "__main__":
    if len(sys.argv) != 3:
        raise SystemExit(__doc__)
    main(sys.argv[1], sys.argv[2])
