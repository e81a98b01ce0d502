import Foundation
import NIOHTTP1
import OffpeakTestSupport
import Testing

/// Callbacks reach a receiver that checks every signature with the standardwebhooks package.
@Suite(.serialized) struct WebhookTests {
    static let settings = [
        "OFFPEAK_WEBHOOK_SECRET": Receiver.secret,
        "OFFPEAK_ALLOW_PRIVATE_CALLBACKS": "true",
        "OFFPEAK_WEBHOOK_RETRY_DELAYS": "0.2,0.2,0.2",
        "OFFPEAK_WEBHOOK_TIMEOUT": "1",
        "OFFPEAK_API_KEYS": "key-a,key-b",
    ]

    func send(_ cluster: Cluster, _ text: String, callback: String, key: String = "key-a") async throws -> String {
        let answer = try await cluster.deferred(
            chatBody(model: "qwen-plus", text), key: key, headers: [("Offpeak-Callback-Url", callback)])
        #expect(answer.status == 202, "\(answer.text)")
        #expect(answer.json?["callback_url"] as? String == callback)
        return try #require(answer.json?["id"] as? String)
    }

    func delivery(_ cluster: Cluster, _ id: String, key: String = "key-a") async throws -> [String: Any] {
        try #require(try await cluster.object(id, key: key)?["delivery"] as? [String: Any])
    }

    func waitDelivery(_ cluster: Cluster, _ id: String, status: String) async throws -> [String: Any] {
        var last: [String: Any] = [:]
        do {
            try await eventually("delivery of \(id) to be \(status)") {
                last = try await delivery(cluster, id)
                return last["status"] as? String == status
            }
        } catch let timeout as Timeout {
            throw Timeout(description: "\(timeout.description); last seen: \(last)")
        }
        return last
    }

    @Test func aHundredCallbacksArriveOnceEachSignedAndEqualToTheObject() async throws {
        let receiver = try await Receiver.start()
        let cluster = try await Cluster(name: "webhooks", gateway: Self.settings)
        var ids: [String] = []
        for index in 0..<100 {
            let text = index % 10 == 0 ? "refused \(index) [sim:status=400]" : "hello \(index)"
            ids.append(try await send(cluster, text, callback: receiver.url + "/ok"))
        }
        let objects = try await cluster.waitTerminal(ids, key: "key-a")
        var events: [[String: Any]] = []
        try await eventually("100 callbacks") {
            events = try await receiver.events()
            return events.count >= 100
        }
        for id in ids { _ = try await waitDelivery(cluster, id, status: "delivered") }
        events = try await receiver.events()
        #expect(events.count == 100, "exactly one delivery per request")
        #expect(events.allSatisfy { $0["verified"] as? Bool == true }, "every signature verifies")
        let byID = Dictionary(events.map { (($0["data"] as? [String: Any])?["id"] as? String ?? "", $0) }, uniquingKeysWith: { a, _ in a })
        #expect(Set(byID.keys) == Set(ids))
        for id in ids {
            let event = try #require(byID[id])
            let status = objects[id]?["status"] as? String
            #expect(event["type"] as? String == (status == "completed" ? "deferred_request.completed" : "deferred_request.failed"))
            #expect(event["webhook_id"] as? String == "msg_\(id)")
            var data = try #require(event["data"] as? [String: Any])
            var object = try #require(try await cluster.object(id, key: "key-a"))
            data["delivery"] = nil
            object["delivery"] = nil
            #expect(data as NSDictionary == object as NSDictionary, "the event's data is the object GET returns")
            let cost = try #require(data["cost"] as? [String: Any], "the callback carries the cost")
            #expect(cost["lane"] as? String == "batch" && cost["priced"] as? Bool == true)
            #expect((data["usage"] is NSNull) == (status == "failed"), "and the usage of what completed")
        }
        #expect(events.filter { $0["type"] as? String == "deferred_request.failed" }.count == 10)
    }

    @Test func retriesKeepTheEventIDAndFollowTheReceiverAnswers() async throws {
        let receiver = try await Receiver.start()
        let cluster = try await Cluster(name: "webhook-retries", gateway: Self.settings)
        let flaky = try await send(cluster, "flaky", callback: receiver.url + "/flaky")
        let gone = try await send(cluster, "gone", callback: receiver.url + "/gone")
        let slow = try await send(cluster, "slow", callback: receiver.url + "/slow")
        let patient = try await send(cluster, "patient", callback: receiver.url + "/retry-after")
        let redirected = try await send(cluster, "redirected", callback: receiver.url + "/redirect")

        let flakyDelivery = try await waitDelivery(cluster, flaky, status: "delivered")
        #expect(flakyDelivery["attempts"] as? Int == 3)
        #expect(flakyDelivery["last_status_code"] as? Int == 200)

        let goneDelivery = try await waitDelivery(cluster, gone, status: "failed")
        #expect(goneDelivery["attempts"] as? Int == 1, "410 stops at once")
        #expect(goneDelivery["last_status_code"] as? Int == 410)

        let slowDelivery = try await waitDelivery(cluster, slow, status: "failed")
        #expect(slowDelivery["attempts"] as? Int == 4, "a receiver that never answers in time is retried to the end")
        #expect((slowDelivery["last_error"] as? String)?.contains("timed out") == true)

        let redirectDelivery = try await waitDelivery(cluster, redirected, status: "failed")
        #expect(redirectDelivery["last_status_code"] as? Int == 302, "redirects are not followed")

        _ = try await waitDelivery(cluster, patient, status: "delivered")
        let events = try await receiver.events()
        #expect(events.allSatisfy { $0["verified"] as? Bool == true })
        let flakyEvents = events.filter { $0["path"] as? String == "/flaky" }
        #expect(flakyEvents.count == 3)
        #expect(Set(flakyEvents.compactMap { $0["webhook_id"] as? String }) == ["msg_\(flaky)"], "the same webhook-id on every attempt")
        let patientTimes = events.filter { $0["path"] as? String == "/retry-after" }.compactMap { $0["received_at"] as? Double }
        #expect(patientTimes.count == 2)
        if patientTimes.count == 2 {
            #expect(patientTimes[1] - patientTimes[0] >= 1.9, "Retry-After: 2 is honoured over the 0.2 s schedule")
        }
    }

    @Test func redeliveryStartsANewSeriesForTheOwnerOnly() async throws {
        let receiver = try await Receiver.start()
        let cluster = try await Cluster(name: "redeliver", gateway: Self.settings)
        let id = try await send(cluster, "again", callback: receiver.url + "/ok")
        _ = try await waitDelivery(cluster, id, status: "delivered")

        let other = try await TestHTTP.send(.POST, cluster.v1 + "/deferred/\(id)/redeliver", headers: [("Authorization", "Bearer key-b")])
        #expect(other.status == 404)
        #expect(other.errorCode == "deferred_request_not_found")

        let again = try await TestHTTP.send(.POST, cluster.v1 + "/deferred/\(id)/redeliver", headers: [("Authorization", "Bearer key-a")])
        #expect(again.status == 202)
        try await eventually("the second delivery") { try await receiver.events().count == 2 }
        let events = try await receiver.events()
        #expect(Set(events.compactMap { $0["webhook_id"] as? String }) == ["msg_\(id)"])
        let final = try await waitDelivery(cluster, id, status: "delivered")
        #expect(final["attempts"] as? Int == 2)

        let noCallback = try #require(try await cluster.deferred(chatBody(model: "qwen-plus", "no hook"), key: "key-a").json?["id"] as? String)
        let refused = try await TestHTTP.send(.POST, cluster.v1 + "/deferred/\(noCallback)/redeliver", headers: [("Authorization", "Bearer key-a")])
        #expect(refused.status == 409)
    }

    @Test func callbacksSurviveAReceiverOutageAndAGatewayKill() async throws {
        // Learn a free port from a receiver, then stop it: deliveries fail until it is back.
        let first = try await Receiver.start()
        let port = first.process.port
        first.process.kill()
        var settings = Self.settings
        // Retries every half second for four minutes: the schedule must outlast the outage however slow
        // the machine is (twenty of them, ten seconds, ran out on a loaded CI machine before the restart).
        settings["OFFPEAK_WEBHOOK_RETRY_DELAYS"] = Array(repeating: "0.5", count: 480).joined(separator: ",")
        let cluster = try await Cluster(name: "webhook-restart", gateway: settings)
        var ids: [String] = []
        for index in 0..<20 { ids.append(try await send(cluster, "survive \(index)", callback: "http://127.0.0.1:\(port)/ok")) }
        _ = try await cluster.waitTerminal(ids, key: "key-a")
        try await eventually("failed attempts while the receiver is down") {
            (try await delivery(cluster, ids[0])["attempts"] as? Int ?? 0) >= 1
        }
        cluster.gateway.kill()
        try await cluster.restartGateway()
        let receiver = try await Receiver.start(port: port)
        for id in ids { _ = try await waitDelivery(cluster, id, status: "delivered") }
        let received = Set(try await receiver.events().compactMap { ($0["data"] as? [String: Any])?["id"] as? String })
        #expect(received == Set(ids))
    }
}
