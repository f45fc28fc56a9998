package com.omniinspector.sample

import com.omniinspector.ffi.CloudTarget
import com.omniinspector.ffi.ModelRefreshSettings

/**
 * What the app integrator fills in. Left empty, the sample runs edge-only: photos are stored
 * and analysed on the device, nothing is uploaded, no model update is fetched, and the
 * background workers are not scheduled.
 */
object Integration {
    /** SageMaker runtime URL, e.g. "https://runtime.sagemaker.eu-west-1.amazonaws.com". */
    const val ENDPOINT_URL = ""

    /** Name of the SageMaker endpoint serving the cloud detector. */
    const val ENDPOINT_NAME = ""

    /** AWS region of the endpoint and of the model bucket, e.g. "eu-west-1". */
    const val REGION = ""

    /** Cognito identity pool your [CognitoSession] gets credentials from, e.g. "eu-west-1:…". */
    const val COGNITO_IDENTITY_POOL_ID = ""

    /** URL of the signed model manifest (docs/model-manifest.md); empty = no model refresh. */
    const val MODEL_MANIFEST_URL = ""

    /** The Ed25519 public keys the manifest's signature must verify with (docs/model-manifest.md, "Keys"). */
    val MODEL_TRUSTED_KEYS: List<String> = emptyList()

    /**
     * Your Cognito client (see [CognitoSession]): needed as soon as [ENDPOINT_URL] is set, the
     * core signs every cloud request with these credentials.
     */
    val cognitoSession: CognitoSession? = null

    val cloud: CloudTarget?
        get() = if (ENDPOINT_URL.isEmpty()) null else
            CloudTarget(endpointUrl = ENDPOINT_URL, endpointName = ENDPOINT_NAME, region = REGION)

    val modelRefresh: ModelRefreshSettings?
        get() = if (MODEL_MANIFEST_URL.isEmpty()) null else
            ModelRefreshSettings(
                manifestUrl = MODEL_MANIFEST_URL,
                region = REGION,
                s3Endpoint = null,
                trustedKeys = MODEL_TRUSTED_KEYS,
                // Downloads wait for an unmetered network (see NetworkWatcher).
                allowMetered = false,
            )
}
