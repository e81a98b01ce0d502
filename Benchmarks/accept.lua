-- wrk script: deferred chat completions of about 1 KB each, as the accept stage sends them.
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Prefer"] = "respond-async"
local text = string.rep("Summarise the customer's message and label its urgency. ", 16)
wrk.body = '{"model":"qwen-plus","messages":[{"role":"system","content":"You are a careful support assistant."},'
  .. '{"role":"user","content":"' .. text .. '"}],"temperature":0.2,"max_tokens":200}'
