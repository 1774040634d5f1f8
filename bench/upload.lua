-- wrk: POST a 1 MiB body on every request (bench/run.py, "1 MB upload").
wrk.method = "POST"
wrk.body = string.rep("a", 1048576)
wrk.headers["Content-Type"] = "application/octet-stream"
