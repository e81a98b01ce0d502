"""The official OpenAI SDK deferring embeddings and responses: the Prefer header is all that changes."""
import json
import sys

from openai import OpenAI
from openai.types import CreateEmbeddingResponse
from openai.types.responses import Response

base_url, api_key = sys.argv[1], sys.argv[2]
client = OpenAI(base_url=base_url, api_key=api_key, max_retries=0, timeout=60)
deferred = {"Prefer": "respond-async"}
seen = {}


def finish(kind, raw, cast_to):
    seen[kind + "_status"] = raw.status_code
    request_id = json.loads(raw.text)["id"]
    state = client.get(f"/deferred/{request_id}", cast_to=object, options={"headers": {"Prefer": "wait=60"}})
    seen[kind + "_state"] = state["status"]
    return client.get(f"/deferred/{request_id}/result", cast_to=cast_to)


raw = client.embeddings.with_raw_response.create(
    model="text-embedding-v4", input=["the first passage", "the second passage"], extra_headers=deferred)
embeddings = finish("embeddings", raw, CreateEmbeddingResponse)
seen["embedding_count"] = len(embeddings.data)
seen["embedding_length"] = len(embeddings.data[0].embedding)

raw = client.responses.with_raw_response.create(model="qwen-plus", input="Hello from the Responses API", extra_headers=deferred)
response = finish("responses", raw, Response)
seen["response_object"] = response.object
seen["response_text"] = response.output_text

print(json.dumps(seen))
