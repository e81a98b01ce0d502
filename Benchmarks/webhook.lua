-- wrk script: unsigned POSTs the size of a delivered result event, the webhook stage's baseline.
wrk.method = "POST"
wrk.body = '{"type":"deferred_request.completed","timestamp":1767225600,"data":{"id":"dfr_0123456789abcdef01234567",'
  .. '"object":"deferred_request","status":"completed","model":"qwen-plus","endpoint":"/v1/chat/completions",'
  .. '"response":{"status_code":200,"request_id":"req","body":{"object":"chat.completion","choices":[]}}}}'
wrk.headers["Content-Type"] = "application/json"
