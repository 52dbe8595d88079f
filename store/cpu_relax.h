#pragma once
// cpu_relax(): the pause hint for spin-wait loops (x86 PAUSE: lets the
// sibling hyperthread run and saves power); a yield elsewhere. Header-only,
// shared by the journal reader's and the read-model runtime's spins.
#include <thread>

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#endif

namespace rill {

inline void cpu_relax() {
#if defined(__x86_64__) || defined(__i386__)
  _mm_pause();
#else
  std::this_thread::yield();
#endif
}

}  // namespace rill
