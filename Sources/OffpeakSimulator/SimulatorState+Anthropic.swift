import Foundation

/// Message Batches: created with their requests inline, run on the same clock as file batches,
/// their results one file of every request.
extension SimulatorState {
    /// At most 100,000 requests a batch, each with a unique `custom_id` and `params.model`.
    /// Returns the batch's id.
    func createMessageBatch(requests: [Any]) throws(CreateError) -> String {
        guard !requests.isEmpty, requests.count <= 100_000 else {
            throw .badRequest("requests: between 1 and 100000 requests")
        }
        var lines: [SimulatedBatch.Line] = []
        var ids: Set<String> = []
        var expires = false
        var seen = batchFaultsSeen
        for (index, item) in requests.enumerated() {
            guard let request = item as? [String: Any], let customID = request["custom_id"] as? String, !customID.isEmpty,
                let params = request["params"] as? [String: Any], params["model"] is String
            else { throw .badRequest("requests.\(index): custom_id and params.model are required") }
            guard ids.insert(customID).inserted else { throw .badRequest("requests.\(index): duplicate custom_id \(customID)") }
            let markers = SimulatedModel.messageTexts(params).flatMap(FaultMarker.parse)
            // `[sim:batch=expire,times=N]` expires the first N batches holding the request, as for file batches.
            for marker in markers where marker.action == .expireBatch && applies(marker, customID: customID, seen: &seen) {
                expires = true
                seen[customID, default: 0] += 1
            }
            lines.append(.init(customID: customID, body: params, markers: markers))
        }
        batchFaultsSeen = seen
        let batch = SimulatedBatch(
            id: nextID("msgbatch_"), endpoint: SimulatedAnthropic.endpoint, inputFileID: "", completionWindow: "24h", metadata: [:],
            createdAt: now, delay: batchDelayValue, lines: lines, validationErrors: [], expires: expires)
        batches[batch.id] = batch
        batchOrder.append(batch.id)
        return batch.id
    }

    /// The Message Batch with this id (not a file batch), its results written when it has just ended.
    func messageBatchJSON(_ id: String, baseURL: String) -> [UInt8]? {
        guard let batch = batches[id], batch.endpoint == SimulatedAnthropic.endpoint else { return nil }
        settle(batch)
        return SimulatedModel.jsonBytes(SimulatedAnthropic.batchObject(batch, now: now, baseURL: baseURL))
    }

    func messageBatchResults(_ id: String) -> [UInt8]? {
        guard let batch = batches[id], batch.endpoint == SimulatedAnthropic.endpoint else { return nil }
        settle(batch)
        return batch.outputFileID.flatMap { file($0)?.bytes }
    }

    func cancelMessageBatch(_ id: String, baseURL: String) -> [UInt8]? {
        guard let batch = batches[id], batch.endpoint == SimulatedAnthropic.endpoint else { return nil }
        let (status, _) = batch.status(at: now)
        if ["validating", "in_progress", "finalizing"].contains(status) { batch.cancelRequestedAt = now }
        return messageBatchJSON(id, baseURL: baseURL)
    }

    /// Newest first, `limit` at most, after `afterID`.
    func messageBatchList(limit: Int, afterID: String?, baseURL: String) -> [UInt8] {
        var ids = batchOrder.reversed().filter { batches[$0]?.endpoint == SimulatedAnthropic.endpoint }
        if let afterID, let index = ids.firstIndex(of: afterID) { ids = Array(ids[(index + 1)...]) }
        let page = ids.prefix(limit)
        let data = page.compactMap { id in batches[id].map { SimulatedAnthropic.batchObject($0, now: now, baseURL: baseURL) } }
        return SimulatedModel.jsonBytes([
            "data": data, "has_more": ids.count > page.count, "first_id": page.first ?? NSNull() as Any,
            "last_id": page.last ?? NSNull() as Any,
        ])
    }
}
