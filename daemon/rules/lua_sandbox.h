/* SPDX-License-Identifier: MIT */
/*
 * lua_sandbox.h - the Lua 5.4 sandbox every Lua rule (derive, score) runs in.
 *
 * A sandboxed state has the base library without dofile, loadfile, load, require,
 * print and collectgarbage; string (without string.dump), table, math and utf8; no
 * io, os, package, debug or coroutine. Chunks are loaded as text only (never
 * bytecode). Every call runs under an instruction budget (a count hook: past the
 * budget, every further instruction raises an error, so a pcall() inside the rule
 * cannot swallow it) and the state under a memory cap (a custom allocator that
 * refuses past the cap, which Lua reports as "not enough memory").
 *
 * Pure (no daemon state): the daemon's rules, the REST server's score and the CLI's
 * `inforeg score` all link it. One state belongs to one thread at a time.
 */
#ifndef INFOREGD_LUA_SANDBOX_H
#define INFOREGD_LUA_SANDBOX_H

#include <stddef.h>
#include <stdint.h>
#include <lua.h>

#define LSB_MEM_DEFAULT	   (8u << 20) /* bytes a rule's state may hold */
#define LSB_BUDGET_DEFAULT 1000000u   /* VM instructions per evaluation */

/* Creates a sandboxed state capped at MEM_MAX bytes. NULL (errno ENOMEM) on failure. */
lua_State *lsb_new(size_t mem_max);
void lsb_close(lua_State *L);

/*
 * Compiles SRC (text only; NAME for messages, e.g. "=rule half_free") and pushes the
 * chunk. Returns 0, or -EINVAL with Lua's message ("rule:1: ...") in ERR.
 */
int lsb_load(lua_State *L, const char *src, size_t len, const char *name, char *err, size_t errlen);

/*
 * lua_pcall(L, NARGS, NRES) under BUDGET instructions. Returns 0, or -EINVAL
 * (runtime error), -ETIME (budget exceeded), -ENOMEM (memory cap) with the message
 * in ERR; the stack is then as lua_pcall leaves it after an error, message popped.
 */
int lsb_call(lua_State *L, int nargs, int nres, uint64_t budget, char *err, size_t errlen);

/* Bytes the state holds now. */
size_t lsb_mem_used(lua_State *L);

#endif /* INFOREGD_LUA_SANDBOX_H */
