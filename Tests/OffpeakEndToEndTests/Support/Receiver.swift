import Foundation
import OffpeakTestSupport

/// The Python callback receiver, verifying signatures with the standardwebhooks package.
struct Receiver {
    static let secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"

    let process: OffpeakProcess
    var url: String { process.url }

    static func start(port: Int = 0) async throws -> Receiver {
        let python = try await PythonEnvironment.shared.python()
        let script = PythonEnvironment.packageRoot.appendingPathComponent("Tests/OffpeakEndToEndTests/Python/webhook_receiver.py")
        return Receiver(
            process: try await OffpeakProcess(
                arguments: [script.path, String(port), secret], name: "receiver", executable: python))
    }

    /// Everything received so far, in order.
    func events() async throws -> [[String: Any]] {
        let answer = try await TestHTTP.get(url + "/events")
        return (try JSONSerialization.jsonObject(with: Data(answer.body)) as? [[String: Any]]) ?? []
    }
}
