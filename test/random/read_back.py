"""Reads one collection with pymilvus, a client mvmigrate did not write, and prints every row in
the canonical form of test/random/canon.ts: {"<primary key>": {"<field>": "<canon>", ...}}.
Dynamic keys go under "$dynamic". Usage: read_back.py URI TOKEN DATABASE COLLECTION
"""
import json
import struct
import sys

from pymilvus import DataType, MilvusClient


def stable(v):
    return json.dumps(v, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def f32(x):
    return struct.pack(">f", x).hex()


def canon(dtype, element, v):
    if v is None:
        return "null"
    if dtype == DataType.BOOL:
        return "true" if v else "false"
    if dtype in (DataType.INT8, DataType.INT16, DataType.INT32, DataType.INT64):
        return str(int(v))
    if dtype == DataType.FLOAT:
        return "f:" + f32(v)
    if dtype == DataType.DOUBLE:
        return "d:" + struct.pack(">d", v).hex()
    if dtype == DataType.VARCHAR:
        return json.dumps(v, ensure_ascii=False)
    if dtype == DataType.JSON:
        return "j:" + stable(json.loads(v) if isinstance(v, (str, bytes)) else v)
    if dtype == DataType.ARRAY:
        return "[" + ",".join(canon(element, None, e) for e in v) + "]"
    if dtype == DataType.FLOAT_VECTOR:
        return "v:" + "".join(f32(float(x)) for x in v)
    if dtype == DataType.SPARSE_FLOAT_VECTOR:
        return "s:" + ",".join(f"{int(k)}={f32(float(x))}" for k, x in sorted(v.items()))
    raise ValueError(f"no canonical form for {dtype}")


def main():
    uri, token, database, collection = sys.argv[1:5]
    client = MilvusClient(uri=uri, token=token or "", db_name=database)
    described = client.describe_collection(collection)
    fields = {f["name"]: f for f in described["fields"]}
    pk = next(f["name"] for f in described["fields"] if f.get("is_primary"))
    rows = client.query(collection, filter="", output_fields=["*"], limit=16384, consistency_level="Strong")
    out = {}
    for row in rows:
        values = {}
        dynamic = {}
        for k, v in row.items():
            if k == "$meta" and isinstance(v, dict):
                for dk, dv in v.items():
                    dynamic[dk] = "j:" + stable(dv)
            elif k in fields:
                f = fields[k]
                values[k] = canon(f["type"], f.get("element_type"), v)
            else:
                dynamic[k] = "j:" + stable(v)
        values["$dynamic"] = dynamic
        out[str(row[pk])] = values
    json.dump(out, sys.stdout, ensure_ascii=False)


main()
