package com.omniinspector.sample

import com.omniinspector.ffi.InternalException
import com.omniinspector.ffi.OmniException
import java.io.IOException

// How the sample handles what a core call throws. Plain Kotlin (no Android imports): compiled
// with the generated bindings and tested on the JVM against the real library by
// bindings/tests/kotlin (SampleTest.kt).

/**
 * Runs one core call for a screen: its value, or null after handing [show] the line to display.
 *
 * Catches what reaches the app from a core call: [OmniException] (the core's typed errors; a
 * panic inside an async call such as `verdict` or `syncNow` arrives as
 * `OmniException.Internal` with code `panic`), [InternalException] (what UniFFI throws when a
 * blocking call such as `addPhoto` or `edgeVerdict` panics) and [IOException] (reading the
 * captured file). Coroutine cancellation is not caught, nor are JVM errors.
 */
inline fun <T> coreCall(show: (String) -> Unit, block: () -> T): T? = try {
    block()
} catch (e: OmniException) {
    show(describe(e))
    null
} catch (e: InternalException) {
    show(describe(e))
    null
} catch (e: IOException) {
    show(describe(e))
    null
}

/** Whether a background job should try again later rather than give up. */
fun OmniException.isTransient(): Boolean =
    this is OmniException.Network || this is OmniException.Credentials || this is OmniException.Busy
