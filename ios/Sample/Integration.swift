import OmniFFI

/// What the app integrator fills in. Left empty, the sample runs edge-only: photos are stored
/// and analysed on the device, nothing is uploaded and no model update is fetched.
nonisolated enum Integration {
    /// SageMaker runtime URL, e.g. "https://runtime.sagemaker.eu-west-1.amazonaws.com".
    static let endpointURL = ""
    /// Name of the SageMaker endpoint serving the cloud detector.
    static let endpointName = ""
    /// AWS region of the endpoint and of the model bucket, e.g. "eu-west-1".
    static let region = ""
    /// Cognito identity pool your `CognitoSession` gets credentials from, e.g. "eu-west-1:…".
    static let cognitoIdentityPoolId = ""
    /// URL of the signed model manifest (docs/model-manifest.md); empty = no model refresh.
    static let modelManifestURL = ""
    /// The Ed25519 public keys the manifest's signature must verify with (docs/model-manifest.md, "Keys").
    static let modelTrustedKeys: [String] = []
    /// Your Cognito client (see `CognitoSession`): needed as soon as `endpointURL` is set, the
    /// core signs every cloud request with these credentials.
    static let cognitoSession: CognitoSession? = nil

    static var cloud: CloudTarget? {
        endpointURL.isEmpty
            ? nil
            : CloudTarget(endpointUrl: endpointURL, endpointName: endpointName, region: region)
    }

    static var modelRefresh: ModelRefreshSettings? {
        modelManifestURL.isEmpty
            ? nil
            : ModelRefreshSettings(
                manifestUrl: modelManifestURL,
                region: region,
                s3Endpoint: nil,
                trustedKeys: modelTrustedKeys,
                allowMetered: false  // downloads wait for a network that is neither expensive nor constrained
            )
    }
}
