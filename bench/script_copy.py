"""The copy a team would otherwise write by hand: pymilvus' query_iterator over the source, batch
1000, each batch inserted into the target with its keys (the bench's alter: add 'extra', drop
'note'). Run by bench.js with the project's venv python (pymilvus is installed there).
Prints one JSON line: {"rows": n, "seconds": s}.

    python script_copy.py URI TOKEN DATABASE SOURCE TARGET
"""
import json
import sys
import time

from pymilvus import MilvusClient

uri, token, database, source, target = sys.argv[1:6]
client = MilvusClient(uri=uri, token=token or "", db_name=database)
started = time.time()
it = client.query_iterator(collection_name=source, batch_size=1000, output_fields=["*"])
n = 0
while True:
    rows = it.next()
    if not rows:
        it.close()
        break
    for r in rows:
        r.pop("note", None)
        r["extra"] = 0
    client.insert(collection_name=target, data=rows)
    n += len(rows)
print(json.dumps({"rows": n, "seconds": time.time() - started}))
