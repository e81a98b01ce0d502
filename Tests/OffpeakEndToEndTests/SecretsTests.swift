import Foundation
import NIOHTTP1
import OffpeakTestSupport
import Testing

/// No key or signing secret in the log at any level, over a run that uses each of them: client and
/// operator keys (accepted and refused), the console's sign-in form, the provider key, a callback
/// signed with the generated secret, and a restart. The secret is printed only by
/// `offpeak webhook-secret`.
@Suite struct SecretsTests {
    @Test func noKeyOrSecretIsEverLogged() async throws {
        let clientKey = "sk-client-7f3a9c1e"
        let adminKey = "sk-admin-42b8d6e0"
        let cluster = try await Cluster(
            name: "secrets",
            gateway: [
                "OFFPEAK_API_KEYS": clientKey, "OFFPEAK_ADMIN_KEYS": adminKey, "OFFPEAK_LOG_LEVEL": "trace",
                "OFFPEAK_ALLOW_PRIVATE_CALLBACKS": "true",
            ])
        let receiver = try await Receiver.start()
        let deferred = try await cluster.deferred(
            chatBody(model: "qwen-plus", "sign this"), key: clientKey, headers: [("Offpeak-Callback-Url", receiver.url + "/ok")])
        let id = try #require(deferred.json?["id"] as? String)
        _ = try await cluster.waitTerminal([id], key: clientKey)
        try await eventually("the callback") { try await receiver.events().count >= 1 }
        _ = try await TestHTTP.post(cluster.v1 + "/chat/completions", json: chatBody(model: "qwen-plus", "plain"), headers: [("Authorization", "Bearer \(clientKey)")])
        _ = try await TestHTTP.post(cluster.v1 + "/chat/completions", json: chatBody(model: "qwen-plus", "plain"), headers: [("Authorization", "Bearer \(adminKey)")])
        _ = try await TestHTTP.get(cluster.gateway.url + "/admin/v1/queues", headers: [("Authorization", "Bearer \(adminKey)")])
        _ = try await TestHTTP.get(cluster.gateway.url + "/admin/v1/queues", headers: [("Authorization", "Bearer \(clientKey)")])
        let signInPage = try await TestHTTP.get(cluster.gateway.url + "/console/sign-in")
        let cookie = signInPage.headers["Set-Cookie"].first?.split(separator: ";").first.map(String.init) ?? ""
        let token = signInPage.text.range(of: #"name="csrf-token" content=""#).map { String(signInPage.text[$0.upperBound...].prefix(64)) } ?? ""
        _ = try await TestHTTP.send(
            .POST, cluster.gateway.url + "/console/sign-in", body: Array("key=\(adminKey)&csrf_token=\(token)&next=/console".utf8),
            headers: [("Cookie", cookie), ("Content-Type", "application/x-www-form-urlencoded")])
        let firstLog = cluster.gateway.log
        try await cluster.restartGateway()

        let printed = try OffpeakProcess.runToEnd(
            ["webhook-secret"], environment: ["OFFPEAK_DATABASE": cluster.database], errors: false)
        let secret = printed.output.trimmingCharacters(in: .whitespacesAndNewlines)
        #expect(printed.status == 0 && secret.hasPrefix("whsec_"), "\(printed.output)")
        let log = firstLog + cluster.gateway.log
        #expect(log.contains("offpeak webhook-secret"), "the start-up log says how to get the secret")
        for (name, value) in [
            ("client key", clientKey), ("operator key", adminKey), ("provider key", "sk-upstream"), ("webhook secret", secret),
            ("webhook secret's key", String(secret.dropFirst("whsec_".count))),
        ] {
            #expect(!log.contains(value), "the \(name) is in the log")
        }
        #expect(log.count > 1000, "the log was written (at trace level)")
    }
}
