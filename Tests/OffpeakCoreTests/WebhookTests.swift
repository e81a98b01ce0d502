import Crypto
import Foundation
import OffpeakCore
import Testing

@Suite struct WebhookSigningTests {
    @Test func reproducesTheStandardWebhooksExampleVector() throws {
        // The example published with the Standard Webhooks specification and its reference libraries.
        let signer = try WebhookSigner(secrets: "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw")
        let signature = signer.signature(
            id: "msg_p5jXN8AQM9LWM0D4loKWxJek", timestamp: 1_614_265_330, body: Array(#"{"test": 2432232314}"#.utf8))
        #expect(signature == "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=")
    }

    @Test func eachSignatureStartsFromTheKeyAlone() throws {
        // The signer keeps one keyed HMAC and copies it for each message: a message signed before
        // must leave nothing in it.
        let signer = try WebhookSigner(secrets: "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw")
        let other = signer.signature(id: "msg_other", timestamp: 1, body: Array("a longer body than the example's".utf8))
        let signature = signer.signature(
            id: "msg_p5jXN8AQM9LWM0D4loKWxJek", timestamp: 1_614_265_330, body: Array(#"{"test": 2432232314}"#.utf8))
        #expect(signature == "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=")
        #expect(other == signer.signature(id: "msg_other", timestamp: 1, body: Array("a longer body than the example's".utf8)))
    }

    @Test func signsWithEverySecretDuringARotation() throws {
        let old = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
        let new = WebhookSigner.generateSecret()
        let both = try WebhookSigner(secrets: "\(new) \(old)")
        let body = Array(#"{"test": 2432232314}"#.utf8)
        let parts = both.signature(id: "msg_p5jXN8AQM9LWM0D4loKWxJek", timestamp: 1_614_265_330, body: body).split(separator: " ")
        #expect(parts.count == 2)
        #expect(parts[1] == "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=")
        #expect(String(parts[0]) == (try WebhookSigner(secrets: new)).signature(id: "msg_p5jXN8AQM9LWM0D4loKWxJek", timestamp: 1_614_265_330, body: body))
    }

    /// The receiver-side check the README shows, run against what the signer produces.
    static func isAuthentic(body: Data, id: String, timestamp: String, signatures: String, secret: String, now: Double) -> Bool {
        guard let seconds = Double(timestamp), abs(now - seconds) < 300,
            let key = Data(base64Encoded: String(secret.dropFirst("whsec_".count)))
        else { return false }
        let signed = Data("\(id).\(timestamp).".utf8) + body
        return signatures.split(separator: " ").contains { candidate in
            guard candidate.hasPrefix("v1,"), let given = Data(base64Encoded: String(candidate.dropFirst(3))) else { return false }
            return HMAC<SHA256>.isValidAuthenticationCode(given, authenticating: signed, using: SymmetricKey(data: key))
        }
    }

    @Test func theReadmeVerifierAcceptsOurSignaturesAndNothingElse() throws {
        let secret = WebhookSigner.generateSecret()
        let other = WebhookSigner.generateSecret()
        let body = Array(#"{"type":"deferred_request.completed"}"#.utf8)
        let headers = Dictionary(uniqueKeysWithValues: try WebhookSigner(secrets: "\(other) \(secret)").headers(id: "msg_1", timestamp: 1_000, body: body))
        let check = { (body: [UInt8], secret: String, now: Double) in
            Self.isAuthentic(body: Data(body), id: headers["webhook-id"]!, timestamp: headers["webhook-timestamp"]!,
                             signatures: headers["webhook-signature"]!, secret: secret, now: now)
        }
        #expect(check(body, secret, 1_010))
        #expect(check(body, other, 1_010))
        #expect(!check(body + [0x20], secret, 1_010), "a changed body fails")
        #expect(!check(body, WebhookSigner.generateSecret(), 1_010), "another secret fails")
        #expect(!check(body, secret, 2_000), "an old timestamp fails")
    }

    @Test func generatedSecretsHaveTheStandardForm() throws {
        let secret = WebhookSigner.generateSecret()
        #expect(secret.hasPrefix("whsec_"))
        #expect(Data(base64Encoded: String(secret.dropFirst(6)))?.count == 32)
        #expect(secret != WebhookSigner.generateSecret())
    }

    @Test(arguments: ["", "whsec_", "whsec_not base64!", "whsec_c2hvcnQ="])
    func refusesUnusableSecrets(_ secret: String) {
        #expect(throws: WebhookSigner.InvalidSecret.self) { try WebhookSigner(secrets: secret) }
    }

    @Test func theEventCarriesTheObjectAndATypeForItsStatus() throws {
        var request = DeferredRequest(
            id: "dfr_1", owner: "", endpoint: "/v1/chat/completions", model: "m", status: .completed, createdAt: 1_764_460_000,
            completedAt: 1_764_460_100, bodyDigest: "d", bodyBytes: 2,
            response: StoredResponse(statusCode: 200, requestID: "r", body: Array(#"{"ok":true}"#.utf8)))
        let body = try #require(try JSONSerialization.jsonObject(with: Data(WebhookEvent.body(for: request))) as? [String: Any])
        #expect(body["type"] as? String == "deferred_request.completed")
        #expect(body["timestamp"] as? String == "2025-11-29T23:48:20Z")
        #expect((body["data"] as? [String: Any])?["id"] as? String == "dfr_1")
        #expect(WebhookEvent.id(for: request) == "msg_dfr_1")
        request.status = .failed
        #expect(WebhookEvent.type(for: request) == "deferred_request.failed")
    }
}

@Suite struct DeliveryPolicyTests {
    let policy = DeliveryPolicy(retryDelays: [5, 30, 120], jitter: 0.1)

    @Test(arguments: [200, 202, 204])
    func anySuccessIsDelivered(status: Int) {
        #expect(policy.decide(.answered(status: status, retryAfter: nil), attempt: 1) == .delivered)
    }

    @Test func goneStopsAtOnce() {
        #expect(policy.decide(.answered(status: 410, retryAfter: nil), attempt: 1) == .giveUp)
    }

    @Test func failuresFollowTheScheduleWithJitterThenGiveUp() {
        #expect(policy.decide(.answered(status: 500, retryAfter: nil), attempt: 1, random: 0) == .retry(after: 5))
        #expect(policy.decide(.failed("timed out"), attempt: 2, random: 1) == .retry(after: 33))
        #expect(policy.decide(.answered(status: 302, retryAfter: nil), attempt: 3, random: -1) == .retry(after: 108))
        #expect(policy.decide(.answered(status: 500, retryAfter: nil), attempt: 4) == .giveUp)
    }

    @Test func retryAfterIsHonoured() {
        #expect(policy.decide(.answered(status: 503, retryAfter: 60), attempt: 1, random: 0) == .retry(after: 60))
        #expect(policy.decide(.answered(status: 429, retryAfter: 1), attempt: 1, random: 0) == .retry(after: 5))
    }
}

@Suite struct CallbackURLPolicyTests {
    struct FixedResolver: HostResolver {
        let answer: [IPAddress]
        func addresses(of host: String) async -> [IPAddress] { answer }
    }

    @Test(arguments: [
        "127.0.0.1", "10.1.2.3", "172.16.0.1", "192.168.0.1", "169.254.169.254", "100.64.0.1", "0.0.0.0", "224.0.0.1",
        "::1", "::", "fe80::1", "fd00::1", "ff02::1", "::ffff:127.0.0.1", "::ffff:10.0.0.1",
    ])
    func privateAddressesAreNotPublic(_ text: String) throws {
        #expect(try #require(IPAddress(text)).isPublic == false)
    }

    @Test(arguments: ["8.8.8.8", "93.184.216.34", "2606:4700::1111", "::ffff:8.8.8.8"])
    func publicAddressesArePublic(_ text: String) throws {
        #expect(try #require(IPAddress(text)).isPublic)
    }

    @Test func aNameIsJudgedByWhatItResolvesTo() async throws {
        let toPublic = CallbackURLPolicy(allowPrivate: false, resolver: FixedResolver(answer: [IPAddress("93.184.216.34")!]))
        let toLoopback = CallbackURLPolicy(allowPrivate: false, resolver: FixedResolver(answer: [IPAddress("93.184.216.34")!, IPAddress("127.0.0.1")!]))
        _ = try await toPublic.check("https://hooks.example.test/offpeak")
        await #expect(throws: CallbackURLPolicy.Refusal.self) { try await toLoopback.check("https://hooks.example.test/offpeak") }
        let allowed = CallbackURLPolicy(allowPrivate: true, resolver: FixedResolver(answer: []))
        _ = try await allowed.check("http://127.0.0.1:9/hook")
        await #expect(throws: CallbackURLPolicy.Refusal.self) { try await allowed.check("ftp://127.0.0.1/hook") }
        await #expect(throws: CallbackURLPolicy.Refusal.self) { try await allowed.check("http://u:p@127.0.0.1/hook") }
    }
}
