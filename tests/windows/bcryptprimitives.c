/* Test scaffolding only, never shipped: a stand-in for Windows'
 * bcryptprimitives.dll, which Wine before 8.13 lacks. Rust's standard
 * library (and getrandom) take their randomness from its ProcessPrng
 * (rust-lang/rust#121337); real Windows 10 and later have it. This one
 * forwards to advapi32's RtlGenRandom (SystemFunction036), which Wine has.
 * Built by tests/windows/wine.rs with x86_64-w64-mingw32-gcc. */
#include <windows.h>

BOOLEAN WINAPI SystemFunction036(PVOID buffer, ULONG length);

BOOL WINAPI ProcessPrng(PBYTE data, SIZE_T length)
{
    while (length > 0) {
        ULONG chunk = length > 0x40000000 ? 0x40000000 : (ULONG)length;
        if (!SystemFunction036(data, chunk))
            return FALSE;
        data += chunk;
        length -= chunk;
    }
    return TRUE;
}
