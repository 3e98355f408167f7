/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

/* ThreadSanitizer annotations for hand-offs between threads that go through GLib (GMutex,
 * GCond, GAsyncQueue in GThreadPool). Debian's GLib is not built with -fsanitize=thread and
 * its GMutex/GCond are futex-based, so ThreadSanitizer cannot see that they order memory: a
 * QS_TSAN_RELEASE (x) before the hand-off and a QS_TSAN_ACQUIRE (x) after it on the other
 * thread tell it. They compile to nothing in other builds. docs/HACKING.md, "Sanitizers". */

#if defined(__SANITIZE_THREAD__)
#define QS_HAVE_TSAN 1
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define QS_HAVE_TSAN 1
#endif
#endif

#ifdef QS_HAVE_TSAN
void __tsan_acquire (void *addr);
void __tsan_release (void *addr);
#define QS_TSAN_ACQUIRE(addr) __tsan_acquire ((void *) (addr))
#define QS_TSAN_RELEASE(addr) __tsan_release ((void *) (addr))
#else
#define QS_TSAN_ACQUIRE(addr) ((void) 0)
#define QS_TSAN_RELEASE(addr) ((void) 0)
#endif
