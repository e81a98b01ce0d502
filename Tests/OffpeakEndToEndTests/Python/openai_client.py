"""Drives the gateway with the official OpenAI Python SDK, as an app would, and prints what it saw as JSON."""
import json
import sys

from openai import OpenAI
from openai.types.chat import ChatCompletion

base_url, api_key = sys.argv[1], sys.argv[2]
client = OpenAI(base_url=base_url, api_key=api_key, max_retries=0, timeout=60)
messages = [{"role": "user", "content": "Hello from the official SDK"}]
seen = {}

plain = client.chat.completions.create(model="qwen-plus", messages=messages)
seen["plain"] = plain.choices[0].message.content
seen["plain_usage"] = plain.usage.total_tokens

pieces = []
for chunk in client.chat.completions.create(model="qwen-plus", messages=messages, stream=True):
    if chunk.choices and chunk.choices[0].delta.content:
        pieces.append(chunk.choices[0].delta.content)
seen["stream"] = "".join(pieces)
seen["stream_pieces"] = len(pieces)

raw = client.chat.completions.with_raw_response.create(
    model="qwen-plus", messages=messages, extra_headers={"Prefer": "respond-async"}
)
seen["deferred_status"] = raw.status_code
deferred = raw.parse()
seen["deferred_id"] = deferred.id

state = client.get(f"/deferred/{deferred.id}", cast_to=object, options={"headers": {"Prefer": "wait=60"}})
seen["deferred_state"] = state["status"]
result = client.get(f"/deferred/{deferred.id}/result", cast_to=ChatCompletion)
seen["deferred_result"] = result.choices[0].message.content

print(json.dumps(seen))
