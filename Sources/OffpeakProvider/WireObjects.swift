import OffpeakCore

/// The provider's JSON objects, read with Codable (they are small and off the hot path).
struct FileObject: Decodable {
    let id: String
}

struct BatchObject: Decodable {
    struct Errors: Decodable {
        struct Item: Decodable {
            let code: String?
            let line: Int?
            let message: String?
        }
        let data: [Item]?
    }

    let id: String
    let status: String
    let output_file_id: String?
    let error_file_id: String?
    let errors: Errors?
    let metadata: [String: String]?

    var upstream: UpstreamBatch {
        UpstreamBatch(
            id: id, status: status, outputFileID: output_file_id, errorFileID: error_file_id,
            errors: (errors?.data ?? []).map {
                UpstreamBatch.LineError(code: $0.code ?? "invalid_request", line: $0.line, message: $0.message ?? "")
            },
            metadata: metadata ?? [:])
    }
}

struct BatchList: Decodable {
    let data: [BatchObject]
}
