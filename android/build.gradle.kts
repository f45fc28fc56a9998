// Plugin versions for both modules. AGP 9.5.1 needs Gradle 9.6.0+ (gradle/wrapper pins 9.7.1)
// and JDK 17+ (gradle/gradle-daemon-jvm.properties pins 17); it compiles Kotlin itself
// ("built-in Kotlin"), so no module applies org.jetbrains.kotlin.android. Declaring the Kotlin
// Gradle plugin here (apply false) chooses the Kotlin compiler: 2.4.20, the kotlinc that
// bindings/tests/kotlin compiles the same generated bindings with, instead of AGP's floor (2.2.10).
plugins {
    id("com.android.application") version "9.5.1" apply false
    id("com.android.library") version "9.5.1" apply false
    id("org.jetbrains.kotlin.android") version "2.4.20" apply false
}
