-- wrk script: chat completions of about 1 KB that pass straight through (no Prefer header), as
-- the passthrough stage sends them.
wrk.method = "POST"
wrk.body = '{"model":"qwen-plus","messages":[{"role":"system","content":"You are a careful support assistant."},'
  .. '{"role":"user","content":"' .. string.rep("Summarise the customer's message and label its urgency. ", 16) .. '"}],'
  .. '"temperature":0.2}'
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer sk-bench"
