import Foundation

/// nginx relaying the same calls to the same simulator: what a relay written in C, which parses
/// the HTTP it forwards and nothing else, adds on this machine in the same run. It calibrates the
/// passthrough targets (the machine's share of the one call's added time, a relay's CPU floor)
/// and is skipped where nginx is not installed (`Benchmarks/run` installs it).
final class ReferenceRelay {
    let port: Int
    private let process: Process
    private let folder: URL

    static var binary: String? {
        ["/usr/sbin/nginx", "/usr/bin/nginx"].first { FileManager.default.isExecutableFile(atPath: $0) }
    }

    /// One nginx process (no master, one worker's work in it) on a free loopback port, its upstream
    /// connections kept alive as the gateway keeps its own, answers streamed as they come.
    init(binary: String, upstreamPort: Int) async throws {
        folder = FileManager.default.temporaryDirectory.appendingPathComponent("offpeak-bench-nginx-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        port = try Self.freePort()
        let configuration = """
            daemon off;
            master_process off;
            worker_processes 1;
            pid nginx.pid;
            error_log error.log warn;
            events { worker_connections 1024; }
            http {
                access_log off;
                client_body_temp_path body;
                proxy_temp_path proxy;
                fastcgi_temp_path fastcgi;
                uwsgi_temp_path uwsgi;
                scgi_temp_path scgi;
                upstream simulator { server 127.0.0.1:\(upstreamPort); keepalive 128; }
                server {
                    listen 127.0.0.1:\(port);
                    location / {
                        proxy_pass http://simulator;
                        proxy_http_version 1.1;
                        proxy_set_header Connection "";
                        proxy_buffering off;
                        proxy_request_buffering off;
                    }
                }
            }
            """
        try configuration.write(to: folder.appendingPathComponent("nginx.conf"), atomically: true, encoding: .utf8)
        process = Process()
        process.executableURL = URL(fileURLWithPath: binary)
        process.arguments = ["-p", folder.path + "/", "-c", "nginx.conf", "-e", "error.log"]
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        let deadline = Date().addingTimeInterval(10)
        while !Self.accepts(port: port) {
            guard process.isRunning, Date() < deadline else {
                stop()
                throw BenchFailure("nginx did not start (see \(folder.path)/error.log)")
            }
            try await Task.sleep(for: .milliseconds(20))
        }
    }

    var pid: Int32 { process.processIdentifier }
    var url: String { "http://127.0.0.1:\(port)" }

    /// Killed outright: nginx without its master process keeps its signals blocked outside the
    /// master's loop, so a SIGTERM would wait for ever.
    func stop() {
        if process.isRunning {
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
        }
        try? FileManager.default.removeItem(at: folder)
    }

    deinit { stop() }

    /// A loopback port nothing listens on now (the kernel's pick for a socket bound to port 0).
    static func freePort() throws -> Int {
        let socket = Foundation.socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard socket >= 0 else { throw BenchFailure("no socket for a free port") }
        defer { close(socket) }
        var address = loopback(port: 0)
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let found = withUnsafeMutablePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { address in
                bind(socket, address, length) == 0 && getsockname(socket, address, &length) == 0
            }
        }
        guard found else { throw BenchFailure("no free loopback port") }
        return Int(UInt16(bigEndian: address.sin_port))
    }

    /// True when something accepts connections on the loopback port.
    static func accepts(port: Int) -> Bool {
        let socket = Foundation.socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard socket >= 0 else { return false }
        defer { close(socket) }
        var address = loopback(port: port)
        return withUnsafePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                connect(socket, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) == 0
            }
        }
    }

    static func loopback(port: Int) -> sockaddr_in {
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = UInt16(port).bigEndian
        address.sin_addr.s_addr = UInt32(0x7F00_0001).bigEndian
        return address
    }
}
