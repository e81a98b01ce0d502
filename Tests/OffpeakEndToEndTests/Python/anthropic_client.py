"""The official Anthropic Python SDK through the gateway: a plain message, a streamed one, and a
deferred one (the Prefer header is all that changes), its result read back as a Message."""
import json
import sys

import anthropic
from anthropic.types import Message

base_url, api_key = sys.argv[1], sys.argv[2]
client = anthropic.Anthropic(base_url=base_url, api_key=api_key, max_retries=0, timeout=60)
messages = [{"role": "user", "content": "Hello from the Anthropic SDK"}]
seen = {}

plain = client.messages.create(model="claude-sonnet-4", max_tokens=64, messages=messages)
seen["plain"] = plain.content[0].text
seen["plain_input_tokens"] = plain.usage.input_tokens

with client.messages.stream(model="claude-sonnet-4", max_tokens=64, messages=messages) as stream:
    seen["stream"] = "".join(stream.text_stream)

raw = client.messages.with_raw_response.create(
    model="claude-sonnet-4", max_tokens=64, messages=messages, extra_headers={"Prefer": "respond-async"})
seen["deferred_status"] = raw.http_response.status_code
request_id = json.loads(raw.http_response.text)["id"]
state = client.get(f"/v1/deferred/{request_id}", cast_to=object, options={"headers": {"Prefer": "wait=60"}})
seen["deferred_state"] = state["status"]
seen["deferred_upstream"] = state["upstream"]
result = client.get(f"/v1/deferred/{request_id}/result", cast_to=Message)
seen["deferred_result"] = result.content[0].text
seen["deferred_type"] = result.type

print(json.dumps(seen))
