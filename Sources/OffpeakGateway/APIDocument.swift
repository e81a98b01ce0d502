/// The API document, `OpenAPI/openapi.json`: OpenAPI 3.1, every route Offpeak defines,
/// kept in the repository and served as it is at `GET /openapi.json`. `OpenAPIDocumentTests`
/// holds the routes and the document to each other.
public enum APIDocument {
    public static var bytes: [UInt8] { PackageResources.openapi_json }
}
