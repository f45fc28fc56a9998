import OmniFFI

/// Fetches temporary AWS credentials for the identity pool `Integration.cognitoIdentityPoolId`.
///
/// Supplied by the app integrator: this sample bundles no AWS SDK. Implement it with your
/// Cognito client or auth library (for example GetId + GetCredentialsForIdentity for the
/// signed-in user) and set `Integration.cognitoSession`. Throw `CredentialsError.Denied` when
/// Cognito refuses (e.g. NotAuthorizedException); any other error reaches the core as
/// `CredentialsError.Unavailable`, which it retries later.
nonisolated protocol CognitoSession: Sendable {
    func fetch() async throws -> AwsCredentials
}

/// The core's `CredentialsProvider`, called off the main thread when the core needs
/// credentials (again when the previous ones near `expiresAtMs`).
nonisolated final class CognitoCredentialsProvider: CredentialsProvider {
    private let session: CognitoSession

    init(session: CognitoSession) {
        self.session = session
    }

    func credentials() async throws -> AwsCredentials {
        do {
            return try await session.fetch()
        } catch let error as CredentialsError {
            throw error
        } catch {
            throw CredentialsError.Unavailable(reason: String(describing: error))
        }
    }
}
