/* A CPU without AVX-512 and VNNI, on one that has them, for timing the code paths such a CPU takes.
 *
 * Loaded with LD_PRELOAD (``python benchmarks/device_loop.py --hide-avx512`` builds and loads it), it turns on the
 * kernel's CPUID faulting for the process (``arch_prctl(ARCH_SET_CPUID, 0)``, x86-64 Linux, flag ``cpuid_fault``
 * in /proc/cpuinfo) and answers every CPUID instruction itself: the real answer with the AVX-512 and VNNI feature
 * bits cleared. Libraries that choose kernels at run time (XNNPACK through cpuinfo, numpy's dispatch) then take
 * their AVX2 paths. What it cannot hide: code that chose before the library loaded (the C library's own string
 * functions) and a core's speed, so it tells the AVX2 code paths apart, not another machine's timings. It needs the
 * SIGSEGV handler it installs: a later one (Python's faulthandler, PYTHONFAULTHANDLER) turns every CPUID into a
 * crash, so ``device_loop.py`` runs its processes without it.
 */
#define _GNU_SOURCE
#include <asm/prctl.h>
#include <cpuid.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <sys/syscall.h>
#include <ucontext.h>
#include <unistd.h>

/* Leaf 7, subleaf 0: AVX512F, DQ, IFMA, PF, ER, CD, BW, VL (EBX); VBMI, VBMI2, VNNI, BITALG, VPOPCNTDQ (ECX);
 * 4VNNIW, 4FMAPS, VP2INTERSECT, AMX-BF16, FP16, AMX-TILE, AMX-INT8 (EDX). Subleaf 1: AVX-VNNI, AVX512_BF16 (EAX);
 * AVX-VNNI-INT8, AVX10 (EDX). */
#define EBX_7_0 ((1u << 16) | (1u << 17) | (1u << 21) | (1u << 26) | (1u << 27) | (1u << 28) | (1u << 30) | (1u << 31))
#define ECX_7_0 ((1u << 1) | (1u << 6) | (1u << 11) | (1u << 12) | (1u << 14))
#define EDX_7_0 ((1u << 2) | (1u << 3) | (1u << 8) | (1u << 22) | (1u << 23) | (1u << 24) | (1u << 25))
#define EAX_7_1 ((1u << 4) | (1u << 5))
#define EDX_7_1 ((1u << 4) | (1u << 19))

static void answer_cpuid(int signal_number, siginfo_t *info, void *context) {
    greg_t *registers = ((ucontext_t *)context)->uc_mcontext.gregs;
    const unsigned char *instruction = (const unsigned char *)registers[REG_RIP];
    /* A faulting CPUID is signalled by the kernel itself; anything else is a real fault (whose instruction may
     * not even be readable): crash as without this library. */
    if (info->si_code != SI_KERNEL || instruction[0] != 0x0f || instruction[1] != 0xa2) {
        signal(signal_number, SIG_DFL);
        return;
    }
    int saved_errno = errno;
    unsigned leaf = (unsigned)registers[REG_RAX], subleaf = (unsigned)registers[REG_RCX], a, b, c, d;
    syscall(SYS_arch_prctl, ARCH_SET_CPUID, 1);
    __cpuid_count(leaf, subleaf, a, b, c, d);
    syscall(SYS_arch_prctl, ARCH_SET_CPUID, 0);
    errno = saved_errno;
    if (leaf == 7 && subleaf == 0) {
        b &= ~EBX_7_0;
        c &= ~ECX_7_0;
        d &= ~EDX_7_0;
    } else if (leaf == 7 && subleaf == 1) {
        a &= ~EAX_7_1;
        d &= ~EDX_7_1;
    }
    registers[REG_RAX] = a;
    registers[REG_RBX] = b;
    registers[REG_RCX] = c;
    registers[REG_RDX] = d;
    registers[REG_RIP] += 2; /* past the CPUID instruction */
}

__attribute__((constructor)) static void hide_avx512(void) {
    struct sigaction action = {0};
    action.sa_sigaction = answer_cpuid;
    action.sa_flags = SA_SIGINFO;
    if (sigaction(SIGSEGV, &action, 0) != 0 || syscall(SYS_arch_prctl, ARCH_SET_CPUID, 0) != 0) {
        fprintf(stderr, "hide_avx512: this kernel or CPU cannot fault on CPUID; AVX-512 stays visible\n");
        _exit(3);
    }
}
