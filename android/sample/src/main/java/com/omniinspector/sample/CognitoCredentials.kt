package com.omniinspector.sample

import com.omniinspector.ffi.AwsCredentials
import com.omniinspector.ffi.CredentialsException
import com.omniinspector.ffi.CredentialsProvider
import kotlin.coroutines.cancellation.CancellationException

/**
 * Fetches temporary AWS credentials for the identity pool [Integration.COGNITO_IDENTITY_POOL_ID].
 *
 * Supplied by the app integrator: this sample bundles no AWS SDK. Implement it with your Cognito
 * client or auth library (for example GetId + GetCredentialsForIdentity for the signed-in user)
 * and set [Integration.cognitoSession]. Throw [CredentialsException.Denied] when Cognito refuses
 * (e.g. NotAuthorizedException); any other failure reaches the core as
 * [CredentialsException.Unavailable], which it retries later.
 */
fun interface CognitoSession {
    suspend fun fetch(): AwsCredentials
}

/**
 * The core's [CredentialsProvider], called off the main thread when the core needs credentials
 * (again when the previous ones near `expiresAtMs`).
 */
class CognitoCredentialsProvider(private val session: CognitoSession) : CredentialsProvider {
    override suspend fun credentials(): AwsCredentials = try {
        session.fetch()
    } catch (e: CancellationException) {
        throw e
    } catch (e: CredentialsException) {
        throw e
    } catch (e: Exception) {
        throw CredentialsException.Unavailable(e.message ?: e.javaClass.name)
    }
}
