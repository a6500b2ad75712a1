/* SPDX-License-Identifier: MIT */
/*
 * lua_sandbox.c - Lua 5.4 states for rules: a library allow-list, text-only chunks,
 * an instruction budget and a memory cap (see lua_sandbox.h for the contract).
 *
 * The budget is a count hook every HOOK_STEP instructions. Once the evaluation has
 * spent its budget the hook re-arms itself for every single instruction and raises
 * an error each time, so a rule that wraps its loop in pcall() still stops: the first
 * instruction executed outside the protected call raises again. The memory cap is the
 * allocator's: it refuses a (re)allocation that would take the state past the cap, Lua
 * runs an emergency collection, retries, and then raises "not enough memory".
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <lauxlib.h>
#include <lualib.h>

#include "lua_sandbox.h"

#define HOOK_STEP 1000

struct sandbox {
	size_t used, max;
	uint64_t budget, spent;
	int over;
};

static struct sandbox *sandbox_of(lua_State *L)
{
	void *ud;
	lua_getallocf(L, &ud);
	return ud;
}

static void *sb_alloc(void *ud, void *ptr, size_t osize, size_t nsize)
{
	struct sandbox *sb = ud;
	size_t old = ptr ? osize : 0;

	if (nsize == 0) {
		free(ptr);
		sb->used -= old;
		return NULL;
	}
	if (nsize > old && sb->used - old + nsize > sb->max)
		return NULL; /* Lua collects and retries, then raises LUA_ERRMEM */
	void *p = realloc(ptr, nsize);
	if (p)
		sb->used = sb->used - old + nsize;
	return p;
}

static void budget_hook(lua_State *L, lua_Debug *ar)
{
	struct sandbox *sb = sandbox_of(L);

	(void)ar;
	sb->spent += sb->over ? 1 : HOOK_STEP;
	if (sb->spent <= sb->budget)
		return;
	if (!sb->over) {
		sb->over = 1;
		lua_sethook(L, budget_hook, LUA_MASKCOUNT, 1); /* every instruction from now on */
	}
	char msg[64];
	snprintf(msg, sizeof(msg), "instruction budget of %llu exceeded", (unsigned long long)sb->budget);
	luaL_error(L, "%s", msg); /* Lua's own formatter knows no %llu */
}

static const char *const removed_globals[] = {
    "dofile", "loadfile", "load", "require", "print", "collectgarbage", "module", NULL,
};

lua_State *lsb_new(size_t mem_max)
{
	struct sandbox *sb = calloc(1, sizeof(*sb));
	if (!sb) {
		errno = ENOMEM;
		return NULL;
	}
	/* the libraries and the state itself count: leave room for them */
	sb->max = mem_max;
	lua_State *L = lua_newstate(sb_alloc, sb);
	if (!L) {
		free(sb);
		errno = ENOMEM;
		return NULL;
	}
	static const luaL_Reg libs[] = {
	    {LUA_GNAME, luaopen_base},	      {LUA_TABLIBNAME, luaopen_table},
	    {LUA_STRLIBNAME, luaopen_string}, {LUA_MATHLIBNAME, luaopen_math},
	    {LUA_UTF8LIBNAME, luaopen_utf8},  {NULL, NULL},
	};
	for (const luaL_Reg *l = libs; l->func; l++) {
		luaL_requiref(L, l->name, l->func, 1);
		lua_pop(L, 1);
	}
	for (const char *const *g = removed_globals; *g; g++) {
		lua_pushnil(L);
		lua_setglobal(L, *g);
	}
	lua_getglobal(L, LUA_STRLIBNAME);
	lua_pushnil(L);
	lua_setfield(L, -2, "dump");
	lua_pop(L, 1);
	/* generational: a rule makes a young table per evaluation and keeps little */
	lua_gc(L, LUA_GCGEN, 0, 0);
	return L;
}

void lsb_close(lua_State *L)
{
	if (!L)
		return;
	struct sandbox *sb = sandbox_of(L);
	lua_close(L);
	free(sb);
}

size_t lsb_mem_used(lua_State *L)
{
	return sandbox_of(L)->used;
}

static void take_message(lua_State *L, char *err, size_t errlen)
{
	const char *m = lua_tostring(L, -1);
	if (err && errlen)
		snprintf(err, errlen, "%s", m ? m : "(error object is not a string)");
	lua_pop(L, 1);
}

int lsb_load(lua_State *L, const char *src, size_t len, const char *name, char *err, size_t errlen)
{
	int rc = luaL_loadbufferx(L, src, len, name, "t"); /* "t": never bytecode */
	if (rc == LUA_OK)
		return 0;
	take_message(L, err, errlen);
	return rc == LUA_ERRMEM ? -ENOMEM : -EINVAL;
}

int lsb_call(lua_State *L, int nargs, int nres, uint64_t budget, char *err, size_t errlen)
{
	struct sandbox *sb = sandbox_of(L);

	sb->budget = budget;
	sb->spent = 0;
	sb->over = 0;
	lua_sethook(L, budget_hook, LUA_MASKCOUNT, budget < HOOK_STEP ? (int)budget + 1 : HOOK_STEP);
	int rc = lua_pcall(L, nargs, nres, 0);
	if (rc == LUA_OK)
		return 0;
	take_message(L, err, errlen);
	if (sb->over)
		return -ETIME;
	return rc == LUA_ERRMEM ? -ENOMEM : -EINVAL;
}
