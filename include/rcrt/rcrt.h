/*
 * rcrt/rcrt.h - everything of rcrt, the reference-counting object runtime for C modelled on
 * CPython's memory management: the allocator, objects and counts, built-in types, the cycle
 * collector and weak references. Include this one header; the others are split by topic.
 *
 * Thread model: one runtime per process; one thread at a time may call into it. A program
 * that uses rcrt from several threads holds one lock of its own around every call, as CPython
 * holds its interpreter lock.
 */
#ifndef RCRT_RCRT_H
#define RCRT_RCRT_H

#include "rcrt/alloc.h"
#include "rcrt/builtins.h"
#include "rcrt/gc.h"
#include "rcrt/object.h"
#include "rcrt/weakref.h"

#endif /* RCRT_RCRT_H */
