"""An unchanged app: the official OpenAI SDK with only a base URL, no extra headers, an ordinary timeout."""
import json
import sys

from openai import OpenAI

base_url, api_key = sys.argv[1], sys.argv[2]
client = OpenAI(base_url=base_url, api_key=api_key, max_retries=0, timeout=120)
messages = [{"role": "user", "content": "Label this review: the soup was cold"}]
seen = {}

raw = client.chat.completions.with_raw_response.create(model="qwen-plus", messages=messages)
plain = raw.parse()
seen["plain_type"] = type(plain).__name__
seen["plain"] = plain.choices[0].message.content
seen["plain_usage"] = plain.usage.total_tokens
seen["plain_served_by"] = raw.headers.get("offpeak-served-by")
seen["plain_request_id"] = raw.headers.get("offpeak-request-id")

pieces, kinds = [], set()
for chunk in client.chat.completions.create(model="qwen-plus", messages=messages, stream=True):
    kinds.add(type(chunk).__name__)
    if chunk.choices and chunk.choices[0].delta.content:
        pieces.append(chunk.choices[0].delta.content)
seen["stream"] = "".join(pieces)
seen["stream_types"] = sorted(kinds)

print(json.dumps(seen))
