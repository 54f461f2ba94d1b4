/*
 * test_argv.c: argv_parse(), argv_option(), argv_build() and the G5
 * validators, table-driven: each case asserts the whole parse (dest,
 * host, user, port, identity, config, passthru, options in order, remote
 * command) or the exact error, or the exact argv built.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "safessh.h"

#define AV(...)	{ __VA_ARGS__, NULL }
#define ERR(n, a, e)	{ .name = (n), .av = a, .err = (e) }
#define NOPORT	0	/* in a table: argv_parse() must leave port at -1 */

/* 1026 and 1025 bytes: one over HOST_MAX, and exactly it. */
#define A16	"aaaaaaaaaaaaaaaa"
#define A64	A16 A16 A16 A16
#define A256	A64 A64 A64 A64
#define A1024	A256 A256 A256 A256
#define LONG1026 A1024 "aa"
#define LONG1025 A1024 "a"

/* ------------------------------------------------------------ parse table */

struct pcase {
	const char	*name;
	const char	*av[20];	/* ssh's argv without argv[0] */
	const char	*err;		/* the exact cause, or NULL */
	const char	*dest;
	const char	*host;
	const char	*user;
	int		 port;		/* NOPORT: -1 */
	const char	*identity;
	const char	*config;
	char		 passthru;
	const char	*opts;		/* "[-p 22][-v]", NULL: none */
	const char	*cmd;		/* "[ls][-l]", NULL: none */
};

static const struct pcase pcases[] = {
	/* Plain destinations and the remote command. */
	{ "host", AV("h"), NULL, "h", "h", NULL, NOPORT, NULL, NULL, 0,
	    NULL, NULL },
	{ "user@host", AV("u@h"), NULL, "u@h", "h", "u", NOPORT, NULL, NULL,
	    0, NULL, NULL },
	{ "last @ splits", AV("a@b@h"), NULL, "a@b@h", "h", "a@b", NOPORT,
	    NULL, NULL, 0, NULL, NULL },
	{ "command words", AV("u@h", "ls", "-l", "/tmp"), NULL, "u@h", "h",
	    "u", NOPORT, NULL, NULL, 0, NULL, "[ls][-l][/tmp]" },
	{ "host:port is all host", AV("h:22"), NULL, "h:22", "h:22", NULL,
	    NOPORT, NULL, NULL, 0, NULL, NULL },
	{ "bracketed address as typed", AV("[::1]"), NULL, "[::1]", "[::1]",
	    NULL, NOPORT, NULL, NULL, 0, NULL, NULL },
	{ "not a URI: SSH://", AV("SSH://h"), NULL, "SSH://h", "SSH://h",
	    NULL, NOPORT, NULL, NULL, 0, NULL, NULL },
	{ "empty command word kept", AV("h", "", "x"), NULL, "h", "h", NULL,
	    NOPORT, NULL, NULL, 0, NULL, "[][x]" },

	/* Option forms. */
	{ "-p 22", AV("-p", "22", "h"), NULL, "h", "h", NULL, 22, NULL,
	    NULL, 0, "[-p 22]", NULL },
	{ "-p22 joined", AV("-p22", "h"), NULL, "h", "h", NULL, 22, NULL,
	    NULL, 0, "[-p 22]", NULL },
	{ "-4Cp22 cluster", AV("-4Cp22", "h"), NULL, "h", "h", NULL, 22,
	    NULL, NULL, 0, "[-4][-C][-p 22]", NULL },
	{ "-vvv", AV("-vvv", "h"), NULL, "h", "h", NULL, NOPORT, NULL, NULL,
	    0, "[-v][-v][-v]", NULL },
	{ "-oFoo=bar joined", AV("-oForwardAgent=no", "h"), NULL, "h", "h",
	    NULL, NOPORT, NULL, NULL, 0, "[-o ForwardAgent=no]", NULL },
	{ "cluster ending in option takes next word",
	    AV("-Nfo", "ServerAliveInterval=5", "h"), NULL, "h", "h", NULL,
	    NOPORT, NULL, NULL, 0, "[-N][-f][-o ServerAliveInterval=5]",
	    NULL },
	{ "all flags", AV("-1246ACKMNTXYafgknqstxy", "h"), NULL, "h", "h",
	    NULL, NOPORT, NULL, NULL, 0,
	    "[-1][-2][-4][-6][-A][-C][-K][-M][-N][-T][-X][-Y][-a][-f][-g]"
	    "[-k][-n][-q][-s][-t][-x][-y]", NULL },
	{ "all options with an argument",
	    AV("-B", "eth0", "-D", "1080", "-E", "log", "-I", "p11",
	    "-L", "1:h:2", "-R", "3:h:4", "-S", "sock", "-W", "h:1", "h"),
	    NULL, "h", "h", NULL, NOPORT, NULL, NULL, 0,
	    "[-B eth0][-D 1080][-E log][-I p11][-L 1:h:2][-R 3:h:4][-S sock]"
	    "[-W h:1]", NULL },
	{ "more options with an argument",
	    AV("-bx", "-caes128-ctr", "-e", "none", "-m", "hmac-sha2-256",
	    "-w", "0:1", "-P", "tag", "h"), NULL, "h", "h", NULL, NOPORT,
	    NULL, NULL, 0, "[-b x][-c aes128-ctr][-e none][-m hmac-sha2-256]"
	    "[-w 0:1][-P tag]", NULL },
	{ "option argument may start with -", AV("-E", "-x", "h"), NULL,
	    "h", "h", NULL, NOPORT, NULL, NULL, 0, "[-E -x]", NULL },
	{ "-- ends options", AV("-v", "--", "h", "-v", "x"), NULL, "h", "h",
	    NULL, NOPORT, NULL, NULL, 0, "[-v]", "[-v][x]" },
	{ "options after the host", AV("h", "-p", "99", "-t", "ls", "-l"),
	    NULL, "h", "h", NULL, 99, NULL, NULL, 0, "[-p 99][-t]",
	    "[ls][-l]" },
	{ "-- after the host", AV("h", "-v", "--", "-p", "1"), NULL, "h",
	    "h", NULL, NOPORT, NULL, NULL, 0, "[-v]", "[-p][1]" },
	{ "lone - is a command word", AV("h", "-", "x"), NULL, "h", "h",
	    NULL, NOPORT, NULL, NULL, 0, NULL, "[-][x]" },
	{ "command stops the second pass", AV("h", "ls", "-p", "1"), NULL,
	    "h", "h", NULL, NOPORT, NULL, NULL, 0, NULL, "[ls][-p][1]" },
	{ "an argument \"--\" before the host ends options too",
	    AV("-E", "--", "h", "-v"), NULL, "h", "h", NULL, NOPORT, NULL,
	    NULL, 0, "[-E --]", "[-v]" },
	{ "-P takes a tag (current OpenSSH)", AV("-P", "t", "h"), NULL, "h",
	    "h", NULL, NOPORT, NULL, NULL, 0, "[-P t]", NULL },

	/* User and port precedence: the first value ssh obtains wins. */
	{ "-l before user@", AV("-l", "bob", "alice@h"), NULL, "alice@h", "h",
	    "bob", NOPORT, NULL, NULL, 0, "[-l bob]", NULL },
	{ "-l after user@ is ignored", AV("alice@h", "-l", "bob"), NULL,
	    "alice@h", "h", "alice", NOPORT, NULL, NULL, 0, "[-l bob]", NULL },
	{ "-l after a bare host", AV("h", "-l", "bob"), NULL, "h", "h", "bob",
	    NOPORT, NULL, NULL, 0, "[-l bob]", NULL },
	{ "first -l wins", AV("-l", "a", "-l", "b", "h"), NULL, "h", "h", "a",
	    NOPORT, NULL, NULL, 0, "[-l a][-l b]", NULL },
	{ "-o User before user@", AV("-o", "User=bob", "alice@h", "-l", "c"),
	    NULL, "alice@h", "h", "bob", NOPORT, NULL, NULL, 0,
	    "[-o User=bob][-l c]", NULL },
	{ "-o User after user@", AV("alice@h", "-oUser=bob"), NULL, "alice@h",
	    "h", "alice", NOPORT, NULL, NULL, 0, "[-o User=bob]", NULL },
	{ "first -p wins", AV("-p", "1", "-p", "2", "h"), NULL, "h", "h",
	    NULL, 1, NULL, NULL, 0, "[-p 1][-p 2]", NULL },
	{ "-o Port before -p", AV("-o", "Port 2200", "-p", "22", "h"), NULL,
	    "h", "h", NULL, 2200, NULL, NULL, 0, "[-o Port 2200][-p 22]",
	    NULL },
	{ "-p before ssh:// port", AV("-p", "2222", "ssh://h:22"), NULL,
	    "ssh://h:22", "h", NULL, 2222, NULL, NULL, 0, "[-p 2222]", NULL },
	{ "ssh:// port before -p after it", AV("ssh://h:22", "-p", "2222"),
	    NULL, "ssh://h:22", "h", NULL, 22, NULL, NULL, 0, "[-p 2222]",
	    NULL },
	{ "-p after a portless ssh://", AV("ssh://h", "-p", "2222"), NULL,
	    "ssh://h", "h", NULL, 2222, NULL, NULL, 0, "[-p 2222]", NULL },
	{ "port with leading zeros", AV("-p", "022", "h"), NULL, "h", "h",
	    NULL, 22, NULL, NULL, 0, "[-p 022]", NULL },
	{ "port 65535", AV("-p65535", "h"), NULL, "h", "h", NULL, 65535,
	    NULL, NULL, 0, "[-p 65535]", NULL },

	/* ssh:// destinations. */
	{ "ssh://user@host:port", AV("ssh://u@h:2222"), NULL,
	    "ssh://u@h:2222", "h", "u", 2222, NULL, NULL, 0, NULL, NULL },
	{ "ssh:// params ignored", AV("ssh://u;fingerprint=x@h.example"),
	    NULL, "ssh://u;fingerprint=x@h.example", "h.example", "u",
	    NOPORT, NULL, NULL, 0, NULL, NULL },
	{ "ssh:// user urldecoded", AV("ssh://a%40b@h"), NULL,
	    "ssh://a%40b@h", "h", "a@b", NOPORT, NULL, NULL, 0, NULL, NULL },
	ERR("ssh:// first @ splits", AV("ssh://a@b@h"),
	    "invalid host name \"b@h\": an ssh:// host holds only letters, "
	    "digits, '.', '-' and '_'"),
	{ "ssh:// empty path allowed", AV("ssh://h:22/"), NULL,
	    "ssh://h:22/", "h", NULL, 22, NULL, NULL, 0, NULL, NULL },
	{ "ssh:// trailing dot dropped", AV("ssh://h.example."), NULL,
	    "ssh://h.example.", "h.example", NULL, NOPORT, NULL, NULL, 0,
	    NULL, NULL },
	{ "ssh:// empty port", AV("ssh://h:"), NULL, "ssh://h:", "h", NULL,
	    NOPORT, NULL, NULL, 0, NULL, NULL },
	{ "ssh:// bracketed name", AV("ssh://[h1]:2"), NULL, "ssh://[h1]:2",
	    "h1", NULL, 2, NULL, NULL, 0, NULL, NULL },
	ERR("-oProxyCommand=x@h is an option", AV("-oProxyCommand=x@h"),
	    "no destination given"),
	{ "ssh:// with options after it", AV("ssh://h", "-v", "uptime"), NULL,
	    "ssh://h", "h", NULL, NOPORT, NULL, NULL, 0, "[-v]", "[uptime]" },
	ERR("ssh:// path is an error", AV("ssh://h/path"),
	    "invalid destination \"ssh://h/path\": path not allowed"),
	ERR("ssh:// path after port", AV("ssh://h:22/x"),
	    "invalid destination \"ssh://h:22/x\": path not allowed"),
	ERR("ssh:// empty port before /", AV("ssh://h:/"),
	    "invalid port \"\": empty"),
	ERR("ssh:// empty user", AV("ssh://@h"),
	    "invalid destination \"ssh://@h\": empty user name"),
	ERR("ssh:// empty user before params", AV("ssh://;x=y@h"),
	    "invalid destination \"ssh://;x=y@h\": empty user name"),
	ERR("ssh:// bad escape", AV("ssh://u%zz@h"),
	    "invalid destination \"ssh://u%zz@h\": bad %-escape in the user "
	    "name"),
	ERR("ssh:// %00", AV("ssh://u%00x@h"),
	    "invalid destination \"ssh://u%00x@h\": bad %-escape in the user "
	    "name"),
	ERR("ssh:// + is a space", AV("ssh://a+b@h"),
	    "invalid user name \"a b\": contains whitespace"),
	ERR("ssh:// IPv6 is no domain", AV("ssh://[::1]:22"),
	    "invalid host name \"::1\": an ssh:// host must start with a "
	    "letter, digit or '_'"),
	ERR("ssh:// double dot", AV("ssh://a..b"),
	    "invalid host name \"a..b\": an ssh:// host may not hold \"..\""),
	ERR("ssh:// odd character", AV("ssh://a%b"),
	    "invalid host name \"a%b\": an ssh:// host holds only letters, "
	    "digits, '.', '-' and '_'"),
	ERR("ssh:// port 0", AV("ssh://h:0"),
	    "invalid port \"0\": out of range (1-65535)"),
	ERR("ssh:// service name", AV("ssh://h:ssh"),
	    "invalid port \"ssh\": not a number"),
	ERR("ssh:// two colons", AV("ssh://h:22:33"),
	    "invalid port \"22:33\": not a number"),
	ERR("ssh:// missing ]", AV("ssh://[h"),
	    "invalid destination \"ssh://[h\": missing ']'"),
	ERR("ssh:// junk after ]", AV("ssh://[h]x"),
	    "invalid destination \"ssh://[h]x\": junk after ']'"),
	ERR("ssh:// no host", AV("ssh://"),
	    "invalid destination \"ssh://\": empty host name"),
	ERR("ssh:// no host, user", AV("ssh://u@:22"),
	    "invalid destination \"ssh://u@:22\": empty host name"),

	/* The identity. */
	{ "-i", AV("-i", "k", "h"), NULL, "h", "h", NULL, NOPORT, "k", NULL,
	    0, NULL, NULL },
	{ "-ikey joined, after the host", AV("h", "-ik", "-v"), NULL, "h",
	    "h", NULL, NOPORT, "k", NULL, 0, "[-v]", NULL },
	{ "-o IdentityFile=", AV("-o", "IdentityFile=k", "h"), NULL, "h",
	    "h", NULL, NOPORT, "k", NULL, 0, NULL, NULL },
	{ "-o \"IdentityFile k\"", AV("-o", "IdentityFile k", "h"), NULL, "h",
	    "h", NULL, NOPORT, "k", NULL, 0, NULL, NULL },
	{ "-o identityfile = k", AV("-o", "  identityfile = k  ", "h"), NULL,
	    "h", "h", NULL, NOPORT, "k", NULL, 0, NULL, NULL },
	{ "-oIDENTITYFILE", AV("-oIDENTITYFILE=k", "h"), NULL, "h", "h",
	    NULL, NOPORT, "k", NULL, 0, NULL, NULL },
	{ "IdentityFile2 is IdentityFile", AV("-o", "IdentityFile2 k", "h"),
	    NULL, "h", "h", NULL, NOPORT, "k", NULL, 0, NULL, NULL },
	{ "quoted keyword", AV("-o", "\"IdentityFile\" k", "h"), NULL, "h",
	    "h", NULL, NOPORT, "k", NULL, 0, NULL, NULL },
	{ "quoted value", AV("-o", "IdentityFile=\"/a b\"", "h"), NULL, "h",
	    "h", NULL, NOPORT, "/a b", NULL, 0, NULL, NULL },
	{ "same identity twice is one key",
	    AV("-i", "k", "-o", "IdentityFile k", "h"), NULL, "h", "h", NULL,
	    NOPORT, "k", NULL, 0, NULL, NULL },
	{ "escaped blank in value", AV("-o", "IdentityFile /a\\ b", "h"),
	    NULL, "h", "h", NULL, NOPORT, "/a b", NULL, 0, NULL, NULL },
	{ "single-quoted value", AV("-o", "IdentityFile '/a \"b'", "h"),
	    NULL, "h", "h", NULL, NOPORT, "/a \"b", NULL, 0, NULL, NULL },
	{ "unknown escape kept", AV("-o", "IdentityFile=a\\x\\", "h"),
	    NULL, "h", "h", NULL, NOPORT, "a\\x\\", NULL, 0, NULL, NULL },
	ERR("one = only", AV("-o", "IdentityFile = = k", "h"),
	    "-o IdentityFile: extra arguments"),
	ERR("-i twice", AV("-i", "a", "-i", "b", "h"),
	    "more than one identity (-i): safessh offers one key per "
	    "connection"),
	ERR("-i and IdentityFile", AV("-i", "a", "-oIdentityFile=b", "h"),
	    "more than one identity (-i): safessh offers one key per "
	    "connection"),
	ERR("second -i after the host", AV("-i", "a", "h", "-i", "b"),
	    "more than one identity (-i): safessh offers one key per "
	    "connection"),
	ERR("IdentityFile without value", AV("-o", "IdentityFile", "h"),
	    "-o IdentityFile: missing argument"),
	ERR("IdentityFile= without value", AV("-oIdentityFile=", "h"),
	    "-o IdentityFile: missing argument"),
	ERR("IdentityFile comment only", AV("-o", "IdentityFile #k", "h"),
	    "-o IdentityFile: missing argument"),
	ERR("IdentityFile two words", AV("-o", "IdentityFile a b", "h"),
	    "-o IdentityFile: extra arguments"),
	ERR("IdentityFile open quote", AV("-o", "IdentityFile \"a", "h"),
	    "-o IdentityFile: unbalanced quotes"),
	ERR("-i empty", AV("-i", "", "h"), "-i: empty file name"),

	/* -F and the passthru options. */
	{ "-F", AV("-F", "cfg", "h"), NULL, "h", "h", NULL, NOPORT, NULL,
	    "cfg", 0, "[-F cfg]", NULL },
	{ "last -F wins", AV("-Fa", "-F", "b", "h"), NULL, "h", "h", NULL,
	    NOPORT, NULL, "b", 0, "[-F a][-F b]", NULL },
	{ "-G", AV("-G", "-p", "22", "h"), NULL, "h", "h", NULL, 22, NULL,
	    NULL, 'G', "[-G][-p 22]", NULL },
	{ "-G without host", AV("-G"), NULL, NULL, NULL, NULL, NOPORT, NULL,
	    NULL, 'G', "[-G]", NULL },
	{ "-G tolerates two identities", AV("-G", "-i", "a", "-i", "b", "h"),
	    NULL, "h", "h", NULL, NOPORT, "a", NULL, 'G', "[-G]", NULL },
	{ "-V stops parsing", AV("-V", "-z", "garbage"), NULL, NULL, NULL,
	    NULL, NOPORT, NULL, NULL, 'V', "[-V]", NULL },
	{ "-Q stops parsing", AV("-Q", "cipher", "-i", "a", "-i", "b"), NULL,
	    NULL, NULL, NULL, NOPORT, NULL, NULL, 'Q', "[-Q cipher]", NULL },
	{ "-O exit", AV("-O", "exit", "h"), NULL, "h", "h", NULL, NOPORT,
	    NULL, NULL, 'O', "[-O exit]", NULL },
	{ "first passthru wins", AV("-G", "-V", "h"), NULL, NULL, NULL, NULL,
	    NOPORT, NULL, NULL, 'G', "[-G][-V]", NULL },
	{ "-V after the host", AV("h", "-V"), NULL, "h", "h", NULL, NOPORT,
	    NULL, NULL, 'V', "[-V]", NULL },
	{ "-Z", AV("-Z", "h"), NULL, "h", "h", NULL, NOPORT, NULL, NULL, 'Z',
	    "[-Z]", NULL },
	ERR("unknown option before -V", AV("-z", "-V"),
	    "unknown option -- z"),

	/* Grammar errors. */
	ERR("no arguments", AV(NULL), "no destination given"),
	ERR("only options", AV("-v", "-p", "22"), "no destination given"),
	ERR("only --", AV("--"), "no destination given"),
	ERR("unknown option", AV("-z", "h"), "unknown option -- z"),
	ERR("unknown option in cluster", AV("-vHv", "h"),
	    "unknown option -- H"),
	ERR("unknown option after host", AV("h", "-d"), "unknown option -- d"),
	ERR("missing argument", AV("-p"), "option requires an argument -- p"),
	ERR("missing argument after host", AV("h", "-l"),
	    "option requires an argument -- l"),
	ERR("cluster missing argument", AV("-vo"),
	    "option requires an argument -- o"),
	ERR("-v- makes -v- the host", AV("-v-", "h"),
	    "invalid host name \"-v-\": leading '-'"),
	ERR("-v-x", AV("-v-x", "h"), "unknown option -- -"),
	ERR("--x", AV("--x", "h"), "unknown option --x"),
	ERR("-:", AV("-:", "h"), "unknown option -- :"),
	ERR("control byte as option", AV("-\x01", "h"),
	    "unknown option -- \\x01"),
	ERR("@host", AV("@h"), "invalid destination \"@h\": empty user name"),
	ERR("user@", AV("u@"), "invalid host name \"\": empty"),
	ERR("empty destination", AV(""), "invalid host name \"\": empty"),

	/* Hostile hosts (G5; CVE-2017-1000117, CVE-2023-51385 shapes). */
	ERR("host -oProxyCommand after --",
	    AV("--", "-oProxyCommand=touch /tmp/pwn", "git-upload-pack"),
	    "invalid host name \"-oProxyCommand=touch /tmp/pwn\": leading "
	    "'-'"),
	ERR("ssh://-oProxyCommand (git, CVE-2017-1000117)",
	    AV("ssh://-oProxyCommand=touch%20pwned/foo"),
	    "invalid host name \"-oProxyCommand=touch%20pwned\": leading '-'"),
	ERR("ssh://user@-oProxyCommand", AV("ssh://u@-oProxyCommand=x"),
	    "invalid host name \"-oProxyCommand=x\": leading '-'"),
	ERR("user@-oProxyCommand", AV("u@-oProxyCommand=x"),
	    "invalid host name \"-oProxyCommand=x\": leading '-'"),
	ERR("host $(...)", AV("$(touch x)"),
	    "invalid host name \"$(touch x)\": contains '$'"),
	ERR("host backticks", AV("`id`.example"),
	    "invalid host name \"`id`.example\": contains a backquote"),
	ERR("host a;b", AV("a;b"), "invalid host name \"a;b\": contains ';'"),
	ERR("host a|b", AV("a|b"), "invalid host name \"a|b\": contains '|'"),
	ERR("host a&b", AV("a&b"), "invalid host name \"a&b\": contains '&'"),
	ERR("host a>b", AV("u@a>b"),
	    "invalid host name \"a>b\": contains '>'"),
	ERR("host brace", AV("h{a,b}"),
	    "invalid host name \"h{a,b}\": contains '{'"),
	ERR("host comma", AV("a,b"), "invalid host name \"a,b\": contains ','"),
	ERR("host quote", AV("a'b"),
	    "invalid host name \"a'b\": contains a single quote"),
	ERR("host double quote", AV("a\"b"),
	    "invalid host name \"a\\\"b\": contains a double quote"),
	ERR("host backslash", AV("a\\b"),
	    "invalid host name \"a\\\\b\": contains a backslash"),
	ERR("host newline", AV("a\nProxyCommand x"),
	    "invalid host name \"a\\nProxyCommand x\": contains whitespace"),
	ERR("host tab", AV("a\tb"),
	    "invalid host name \"a\\tb\": contains whitespace"),
	ERR("host space", AV("a b"),
	    "invalid host name \"a b\": contains whitespace"),
	ERR("host control byte", AV("a\x01" "b"),
	    "invalid host name \"a\\x01b\": contains a control character"),
	ERR("host DEL", AV("a\x7f"),
	    "invalid host name \"a\\x7f\": contains a control character"),
	ERR("host escape sequence", AV("\x1b[2Jx"),
	    "invalid host name \"\\x1b[2Jx\": contains a control character"),
	ERR("host 1026 bytes", AV(LONG1026),
	    "invalid host name \"" A64 "\"...: too long (over 1025 bytes)"),
	{ "host 1025 bytes", AV(LONG1025), NULL, LONG1025, LONG1025, NULL,
	    NOPORT, NULL, NULL, 0, NULL, NULL },
	{ "host UTF-8 allowed", AV("h\xc3\xa9.example"), NULL,
	    "h\xc3\xa9.example", "h\xc3\xa9.example", NULL, NOPORT, NULL,
	    NULL, 0, NULL, NULL },

	/* Hostile users. */
	ERR("user $(id) (CVE-2023-51385)", AV("user$(id)@h"),
	    "invalid user name \"user$(id)\": contains '$'"),
	ERR("user backticks", AV("`id`@h"),
	    "invalid user name \"`id`\": contains a backquote"),
	ERR("user a;b", AV("a;b@h"), "invalid user name \"a;b\": contains ';'"),
	ERR("user leading -", AV("--", "-oProxyCommand=x@h"),
	    "invalid user name \"-oProxyCommand=x\": leading '-'"),
	ERR("user newline", AV("a\nb@h"),
	    "invalid user name \"a\\nb\": contains whitespace"),
	ERR("user backslash", AV("a\\@h"),
	    "invalid user name \"a\\\\\": contains a backslash"),
	{ "user comma allowed", AV("a,b@h"), NULL, "a,b@h", "h", "a,b",
	    NOPORT, NULL, NULL, 0, NULL, NULL },
	ERR("user 1026 bytes", AV(LONG1026 "@h"),
	    "invalid user name \"" A64 "\"...: too long (over 1025 bytes)"),
	ERR("ssh:// user %60id%60", AV("ssh://%60id%60@h"),
	    "invalid user name \"`id`\": contains a backquote"),
	ERR("ssh:// user %0a", AV("ssh://a%0ab@h"),
	    "invalid user name \"a\\nb\": contains whitespace"),
	ERR("-l a;b", AV("-l", "a;b", "h"),
	    "invalid user name \"a;b\": contains ';'"),
	ERR("-l empty", AV("-l", "", "h"), "invalid user name \"\": empty"),
	ERR("-l --", AV("-l", "--", "h"),
	    "invalid user name \"--\": leading '-'"),
	ERR("ignored -l still checked", AV("u@h", "-l", "$(id)"),
	    "invalid user name \"$(id)\": contains '$'"),
	ERR("-o User hostile", AV("-o", "User=-x", "h"),
	    "invalid user name \"-x\": leading '-'"),
	ERR("-o User quoted blank", AV("-o", "User \"a b\"", "h"),
	    "invalid user name \"a b\": contains whitespace"),

	/* Ports. */
	ERR("-p service name", AV("-p", "ssh", "h"),
	    "invalid port \"ssh\": not a number (ssh takes it as a service "
	    "name; safessh needs the number to know the server it counts "
	    "against)"),
	ERR("-p sign", AV("-p", "+22", "h"),
	    "invalid port \"+22\": not a number"),
	ERR("-p blank", AV("-p", " 22", "h"),
	    "invalid port \" 22\": not a number"),
	ERR("-p trailing junk", AV("-p", "22x", "h"),
	    "invalid port \"22x\": not a number"),
	ERR("-p 0", AV("-p0", "h"),
	    "invalid port \"0\": out of range (1-65535)"),
	ERR("-p 65536", AV("-p", "65536", "h"),
	    "invalid port \"65536\": out of range (1-65535)"),
	ERR("-p huge", AV("-p", "99999999999999999999999", "h"),
	    "invalid port \"99999999999999999999999\": out of range (1-65535)"),
	ERR("-p empty", AV("-p", "", "h"), "invalid port \"\": empty"),
	ERR("-o Port bad", AV("-o", "Port=-1", "h"),
	    "invalid port \"-1\": not a number"),

	/* -J and ProxyJump. */
	{ "-J hops", AV("-J", "u@j1:2222,ssh://v@j2:22,[j3]:1", "h"), NULL,
	    "h", "h", NULL, NOPORT, NULL, NULL, 0,
	    "[-J u@j1:2222,ssh://v@j2:22,[j3]:1]", NULL },
	{ "-J none", AV("-Jnone", "h"), NULL, "h", "h", NULL, NOPORT, NULL,
	    NULL, 0, "[-J none]", NULL },
	{ "-J comment", AV("-J", "j1 #x", "h"), NULL, "h", "h", NULL, NOPORT,
	    NULL, NULL, 0, "[-J j1 #x]", NULL },
	ERR("-J a;b", AV("-J", "a;b", "h"),
	    "invalid -J hop \"a;b\": invalid host name \"a;b\": contains ';'"),
	ERR("-J empty hop", AV("-J", "j1,,j2", "h"),
	    "invalid -J hop \"\": empty host name"),
	ERR("-J trailing comma", AV("-J", "j1,", "h"),
	    "invalid -J hop \"\": empty host name"),
	ERR("-J empty user", AV("-J", "@j", "h"),
	    "invalid -J hop \"@j\": empty user name"),
	ERR("-J port 0", AV("-J", "j:0", "h"),
	    "invalid -J hop \"j:0\": invalid port \"0\": out of range "
	    "(1-65535)"),
	ERR("-J port junk", AV("-J", "j:22/", "h"),
	    "invalid -J hop \"j:22/\": invalid port \"22/\": not a number"),
	ERR("-J user $(id)", AV("-J", "$(id)@j", "h"),
	    "invalid -J hop \"$(id)@j\": invalid user name \"$(id)\": "
	    "contains '$'"),
	ERR("-J slash", AV("-J", "j/x", "h"),
	    "invalid -J hop \"j/x\": '/' after the host"),
	ERR("-J ssh:// path", AV("-J", "ssh://j/p", "h"),
	    "invalid -J hop \"ssh://j/p\": path not allowed"),
	ERR("-J leading -", AV("-J", "-oProxyCommand=x", "h"),
	    "invalid -J hop \"-oProxyCommand=x\": invalid host name "
	    "\"-oProxyCommand=x\": leading '-'"),
	ERR("-J blank", AV("-J", "a b", "h"),
	    "invalid -J hop \"a b\": invalid host name \"a b\": contains "
	    "whitespace"),
	{ "ProxyJump ok", AV("-o", "ProxyJump=u@j:22", "h"), NULL, "h", "h",
	    NULL, NOPORT, NULL, NULL, 0, "[-o ProxyJump=u@j:22]", NULL },
	{ "ProxyJump none", AV("-o", "proxyjump none", "h"), NULL, "h", "h",
	    NULL, NOPORT, NULL, NULL, 0, "[-o proxyjump none]", NULL },
	ERR("ProxyJump hostile", AV("-o", "ProxyJump=x,$(id)", "h"),
	    "invalid ProxyJump hop \"$(id)\": invalid host name \"$(id)\": "
	    "contains '$'"),
	ERR("ProxyJump missing", AV("-o", "ProxyJump", "h"),
	    "-o ProxyJump: missing argument"),

	/* Other -o values. */
	{ "-o HostName ok", AV("-o", "HostName=10.0.0.1", "h"), NULL, "h",
	    "h", NULL, NOPORT, NULL, NULL, 0, "[-o HostName=10.0.0.1]", NULL },
	ERR("-o HostName hostile", AV("-o", "HostName=-oProxyCommand=x", "h"),
	    "invalid host name \"-oProxyCommand=x\": leading '-'"),
	ERR("-o HostName a;b", AV("-o", "hostname a;b", "h"),
	    "invalid host name \"a;b\": contains ';'"),
	ERR("-o HostName two words", AV("-o", "HostName a b", "h"),
	    "-o HostName: extra arguments"),
	{ "-o comment kept", AV("-o", "#x", "h"), NULL, "h", "h", NULL,
	    NOPORT, NULL, NULL, 0, "[-o #x]", NULL },
	{ "-o empty kept", AV("-o", "", "h"), NULL, "h", "h", NULL, NOPORT,
	    NULL, NULL, 0, "[-o ]", NULL },
	{ "-o other keyword kept", AV("-o", "ProxyCommand=nc %h %p", "h"),
	    NULL, "h", "h", NULL, NOPORT, NULL, NULL, 0,
	    "[-o ProxyCommand=nc %h %p]", NULL },
};

/* "[-p 22][-v]" for the options, "[ls][-l]" for the command. */
static char *
render(const struct sshcmd *cmd, int which)
{
	char	*s = NULL, *t;
	size_t	 i, n = which ? cmd->ncmd : cmd->nopts;

	if (n == 0)
		return NULL;
	if ((s = strdup("")) == NULL)
		fail();
	for (i = 0; i < n; i++) {
		if (which)
			t = xstrfmt("%s[%s]", s, cmd->cmd[i]);
		else if (cmd->opts[i].arg != NULL)
			t = xstrfmt("%s[-%c %s]", s, cmd->opts[i].opt,
			    cmd->opts[i].arg);
		else
			t = xstrfmt("%s[-%c]", s, cmd->opts[i].opt);
		if (t == NULL)
			fail();
		free(s);
		s = t;
	}
	return s;
}

static void
same(const char *what, const char *want, const char *got)
{
	if (want == NULL && got == NULL)
		return;
	if (want == NULL || got == NULL || strcmp(want, got) != 0)
		fail_msg("%s: want %s%s%s, got %s%s%s", what,
		    want ? "\"" : "", want ? want : "NULL", want ? "\"" : "",
		    got ? "\"" : "", got ? got : "NULL", got ? "\"" : "");
}

static int
count(const char *const *v)
{
	int	n = 0;

	while (v[n] != NULL)
		n++;
	return n;
}

static void
t_parse(void **state)
{
	const struct pcase	*c = *state;
	struct sshcmd		 cmd;
	char			*cause = NULL, *s;
	int			 r;

	r = argv_parse(count(c->av), (char *const *)c->av, &cmd, &cause);
	if (c->err != NULL) {
		if (r != -1)
			fail_msg("parsed, want error \"%s\"", c->err);
		same("cause", c->err, cause);
		free(cause);
		/* A failed parse leaves nothing behind. */
		assert_null(cmd.opts);
		assert_null(cmd.dest);
		assert_null(cmd.user);
		assert_null(cmd.identity);
		assert_int_equal(cmd.nopts, 0);
		assert_int_equal(cmd.port, -1);
		return;
	}
	if (r != 0)
		fail_msg("unexpected error: %s", cause ? cause : "NULL");
	assert_null(cause);
	same("dest", c->dest, cmd.dest);
	same("host", c->host, cmd.host);
	same("user", c->user, cmd.user);
	assert_int_equal(cmd.port, c->port == NOPORT ? -1 : c->port);
	same("identity", c->identity, cmd.identity);
	same("config", c->config, cmd.config);
	assert_int_equal(cmd.passthru, c->passthru);
	s = render(&cmd, 0);
	same("opts", c->opts, s);
	free(s);
	s = render(&cmd, 1);
	same("cmd", c->cmd, s);
	free(s);
	if (cmd.ncmd > 0)
		assert_null(cmd.cmd[cmd.ncmd]);
	argv_free(&cmd);
	assert_null(cmd.opts);
	assert_int_equal(cmd.port, -1);
}

/* ------------------------------------------------------- validator table */

struct vcase {
	const char	*name;
	char		 kind;		/* 'h'ost, 'u'ser, 'p'ort, 'j'ump */
	const char	*in;
	const char	*why;		/* NULL: valid */
	int		 port;		/* for valid ports */
};

static const struct vcase vcases[] = {
	{ "host ok", 'h', "example.com", NULL, 0 },
	{ "host ipv6", 'h', "::1", NULL, 0 },
	{ "host %h token", 'h', "%h.example", NULL, 0 },
	{ "host empty", 'h', "", "empty", 0 },
	{ "host -", 'h', "-x", "leading '-'", 0 },
	{ "host =", 'h', "-oProxyCommand=x", "leading '-'", 0 },
	{ "host ;", 'h', "a;b", "contains ';'", 0 },
	{ "host $", 'h', "$x", "contains '$'", 0 },
	{ "host <", 'h', "a<b", "contains '<'", 0 },
	{ "host (", 'h', "a(b", "contains '('", 0 },
	{ "host )", 'h', "a)b", "contains ')'", 0 },
	{ "host }", 'h', "a}b", "contains '}'", 0 },
	{ "host \\r", 'h', "a\rb", "contains whitespace", 0 },
	{ "host \\v", 'h', "a\vb", "contains whitespace", 0 },
	{ "host \\x1f", 'h', "a\x1f", "contains a control character", 0 },
	{ "host 1026", 'h', LONG1026, "too long (over 1025 bytes)", 0 },
	{ "host 1025", 'h', LONG1025, NULL, 0 },
	{ "user ok", 'u', "deploy", NULL, 0 },
	{ "user email", 'u', "a@b.example", NULL, 0 },
	{ "user comma", 'u', "a,b", NULL, 0 },
	{ "user -", 'u', "-x", "leading '-'", 0 },
	{ "user \\ last", 'u', "a\\", "contains a backslash", 0 },
	{ "user blank dash", 'u', "a -x", "contains whitespace", 0 },
	{ "user empty", 'u', "", "empty", 0 },
	{ "user |", 'u', "a|b", "contains '|'", 0 },
	{ "user 1026", 'u', LONG1026, "too long (over 1025 bytes)", 0 },
	{ "port 1", 'p', "1", NULL, 1 },
	{ "port 22", 'p', "22", NULL, 22 },
	{ "port 00022", 'p', "00022", NULL, 22 },
	{ "port 65535", 'p', "65535", NULL, 65535 },
	{ "port 65536", 'p', "65536", "out of range (1-65535)", 0 },
	{ "port 0", 'p', "0", "out of range (1-65535)", 0 },
	{ "port 000", 'p', "000", "out of range (1-65535)", 0 },
	{ "port -1", 'p', "-1", "not a number", 0 },
	{ "port 0x16", 'p', "0x16", "not a number", 0 },
	{ "port 22 blank", 'p', "22 ", "not a number", 0 },
	{ "port ssh", 'p', "ssh", "not a number", 0 },
	{ "port empty", 'p', "", "empty", 0 },
	{ "jump one", 'j', "j", NULL, 0 },
	{ "jump none", 'j', "NONE", NULL, 0 },
	{ "jump full", 'j', "u@j:22,ssh://u@k:2/,[::1]:3", NULL, 0 },
	{ "jump trailing blank", 'j', "j  ", NULL, 0 },
	{ "jump empty", 'j', "", "bad hop syntax", 0 },
	{ "jump comma", 'j', ",", "bad hop syntax", 0 },
	{ "jump host", 'j', "a,-b", "invalid host name in a hop", 0 },
	{ "jump user", 'j', "a`b`@c", "invalid user name in a hop", 0 },
	{ "jump port", 'j', "a:ssh", "invalid port in a hop", 0 },
	{ "jump ssh:// ipv6", 'j', "ssh://[::1]",
	    "invalid host name in a hop", 0 },
	{ "jump ]x", 'j', "[a]x", "bad hop syntax", 0 },
};

static void
t_valid(void **state)
{
	const struct vcase	*c = *state;
	const char		*why = NULL;
	int			 r, port = -7;

	switch (c->kind) {
	case 'h':
		r = argv_valid_host(c->in, &why);
		break;
	case 'u':
		r = argv_valid_user(c->in, &why);
		break;
	case 'p':
		r = argv_valid_port(c->in, &port, &why);
		break;
	default:
		r = argv_valid_jump(c->in, &why);
		break;
	}
	if (c->why == NULL) {
		if (r != 1)
			fail_msg("rejected: %s", why ? why : "NULL");
		if (c->kind == 'p')
			assert_int_equal(port, c->port);
	} else {
		assert_int_equal(r, 0);
		same("why", c->why, why);
		if (c->kind == 'p')
			assert_int_equal(port, -7);
	}
}

/* ------------------------------------------------------ argv_option table */

struct ocase {
	const char	*name;
	const char	*av[8];
	const char	*kw;
	const char	*want;		/* NULL: none */
};

static const struct ocase ocases[] = {
	{ "option =", AV("-o", "ConnectTimeout=5", "h"), "ConnectTimeout",
	    "5" },
	{ "option case", AV("-oconnecttimeout 7", "h"), "CONNECTTIMEOUT",
	    "7" },
	{ "option first wins", AV("-o", "ConnectTimeout=5", "h", "-o",
	    "ConnectTimeout=9"), "ConnectTimeout", "5" },
	{ "option after host", AV("h", "-o", "ConnectTimeout = 3"),
	    "ConnectTimeout", "3" },
	{ "option absent", AV("-o", "ServerAliveInterval=5", "h"),
	    "ConnectTimeout", NULL },
	{ "option prefix only", AV("-o", "ConnectTimeoutX=5", "h"),
	    "ConnectTimeout", NULL },
	{ "option not from -l", AV("-l", "ConnectTimeout=5", "h"),
	    "ConnectTimeout", NULL },
	{ "option quoted keyword", AV("-o", "\"User\" bob", "h"), "User",
	    "bob" },
	{ "option blank keyword", AV("-o", "  Port 22", "h"), "port", "22" },
	{ "option no value", AV("-o", "Compression", "h"), "Compression",
	    NULL },
};

static void
t_option(void **state)
{
	const struct ocase	*c = *state;
	struct sshcmd		 cmd;
	char			*cause = NULL;

	if (argv_parse(count(c->av), (char *const *)c->av, &cmd,
	    &cause) != 0)
		fail_msg("parse: %s", cause ? cause : "NULL");
	same("value", c->want, argv_option(&cmd, c->kw));
	argv_free(&cmd);
}

/* ------------------------------------------------------- argv_build table */

struct bcase {
	const char	*name;
	const char	*av[14];
	struct rewrite	 rw;
	const char	*err;		/* the exact cause, or NULL */
	const char	*out[64];	/* the argv built, NULL-terminated */
};

#define FORCED \
	"ssh", "-o", "IdentitiesOnly=yes", "-o", "IdentityAgent=none"
#define FORCED2 \
	"-o", "PKCS11Provider=none", "-o", "ConnectionAttempts=1"
#define PUBKEY	"-o", "PreferredAuthentications=publickey"

static const struct bcase bcases[] = {
	{ "build minimal", AV("h"), { .identity = "/k" }, NULL,
	    { FORCED, "-o", "IdentityFile=/k", FORCED2, PUBKEY, "--", "h" } },
	{ "build without identity", AV("h"), { .port = 0 }, NULL,
	    { FORCED, FORCED2, PUBKEY, "--", "h" } },
	{ "build everything",
	    AV("-F", "mine", "-vp22", "-oForwardAgent=no", "u@h", "ls", "-l"),
	    { .identity = "/k", .hostname = "10.0.0.1", .user = "deploy",
	    .port = 10022, .connect_timeout = 15, .password = 1,
	    .localcmd = "/bin/safessh --authed abc", .sshconfig = "/tmp/cfg",
	    .controlpath = "/run/cp/%C", .controlpersist = 60 }, NULL,
	    { FORCED, "-o", "IdentityFile=/k", FORCED2, "-o",
	    "PreferredAuthentications=publickey,keyboard-interactive,password",
	    "-o", "HostName=10.0.0.1", "-o", "Port=10022", "-o", "User=deploy",
	    "-o", "ConnectTimeout=15", "-o", "PermitLocalCommand=yes", "-o",
	    "LocalCommand=/bin/safessh --authed abc", "-F", "/tmp/cfg", "-o",
	    "ControlMaster=auto", "-o", "ControlPath=/run/cp/%C", "-o",
	    "ControlPersist=60", "-v", "-p", "22", "-o", "ForwardAgent=no",
	    "--", "u@h", "ls", "-l" } },
	{ "build keeps -F without a replacement", AV("-F", "mine", "h"),
	    { .identity = "/k" }, NULL,
	    { FORCED, "-o", "IdentityFile=/k", FORCED2, PUBKEY, "-F", "mine",
	    "--", "h" } },
	{ "build user's ConnectTimeout wins", AV("-oConnectTimeout=3", "h"),
	    { .connect_timeout = 15 }, NULL,
	    { FORCED, FORCED2, PUBKEY, "-o", "ConnectTimeout=3", "--", "h" } },
	{ "build agent: no IdentityAgent=none", AV("h"),
	    { .identity = "/k", .agent = 1 }, NULL,
	    { "ssh", "-o", "IdentitiesOnly=yes", "-o", "IdentityFile=/k",
	    FORCED2, PUBKEY, "--", "h" } },
	{ "build user's narrower PreferredAuthentications stands",
	    AV("-o", "PreferredAuthentications=publickey", "h"),
	    { .password = 1 }, NULL,
	    { FORCED, FORCED2, "-o", "PreferredAuthentications=publickey",
	    "--", "h" } },
	{ "build user's no-method probe stands",
	    AV("-o", "PreferredAuthentications=,", "h"), { .port = 0 }, NULL,
	    { FORCED, FORCED2, "-o", "PreferredAuthentications=,", "--",
	    "h" } },
	{ "build user's wider PreferredAuthentications is overridden",
	    AV("-o", "PreferredAuthentications=password", "h"), { .port = 0 },
	    NULL, { FORCED, FORCED2, PUBKEY, "-o",
	    "PreferredAuthentications=password", "--", "h" } },
	{ "build user's list with a hostbased is overridden",
	    AV("-oPreferredAuthentications=publickey,hostbased", "h"),
	    { .password = 1 }, NULL, { FORCED, FORCED2, "-o",
	    "PreferredAuthentications=publickey,keyboard-interactive,password",
	    "-o", "PreferredAuthentications=publickey,hostbased", "--",
	    "h" } },
	{ "build identity taken out", AV("-i", "/mine", "-C", "h"),
	    { .identity = "/mine" }, NULL,
	    { FORCED, "-o", "IdentityFile=/mine", FORCED2, PUBKEY, "-C", "--",
	    "h" } },
	{ "build identity quoted", AV("h"), { .identity = "/a b/k\"q\\" },
	    NULL, { FORCED, "-o", "IdentityFile=\"/a b/k\\\"q\\\\\"", FORCED2,
	    PUBKEY, "--", "h" } },
	{ "build identity with #", AV("h"), { .identity = "#k" }, NULL,
	    { FORCED, "-o", "IdentityFile=\"#k\"", FORCED2, PUBKEY, "--",
	    "h" } },
	{ "build flags split", AV("-4Cvv", "-J", "j", "h"), { .port = 0 },
	    NULL, { FORCED, FORCED2, PUBKEY, "-4", "-C", "-v", "-v", "-J", "j",
	    "--", "h" } },
	{ "build -- before dest, command kept", AV("--", "h", "-p", "1"),
	    { .port = 0 }, NULL, { FORCED, FORCED2, PUBKEY, "--", "h", "-p",
	    "1" } },
	{ "build ssh:// dest as typed", AV("ssh://u@h:2"), { .port = 0 },
	    NULL, { FORCED, FORCED2, PUBKEY, "--", "ssh://u@h:2" } },
	{ "build options after host", AV("h", "-t", "top"), { .port = 0 },
	    NULL, { FORCED, FORCED2, PUBKEY, "-t", "--", "h", "top" } },
	{ "build passthru refused", AV("-G", "h"), { .port = 0 },
	    "-G is passed to ssh unchanged, not rebuilt", { NULL } },
	{ "build bad HostName", AV("h"), { .hostname = "a;b" },
	    "HostName: invalid host name \"a;b\": contains ';'", { NULL } },
	{ "build bad User", AV("h"), { .user = "-x" },
	    "User: invalid user name \"-x\": leading '-'", { NULL } },
	{ "build bad Port", AV("h"), { .port = 70000 },
	    "Port: invalid port 70000: out of range (1-65535)", { NULL } },
	{ "build empty identity", AV("h"), { .identity = "" },
	    "IdentityFile: empty file name", { NULL } },
};

static void
t_build(void **state)
{
	const struct bcase	*c = *state;
	struct sshcmd		 cmd;
	struct arglist		 al;
	char			*cause = NULL;
	int			 i, n, r;

	if (argv_parse(count(c->av), (char *const *)c->av, &cmd,
	    &cause) != 0)
		fail_msg("parse: %s", cause ? cause : "NULL");
	memset(&al, 0, sizeof(al));
	r = argv_build(&cmd, &c->rw, "ssh", &al, &cause);
	argv_free(&cmd);
	if (c->err != NULL) {
		assert_int_equal(r, -1);
		same("cause", c->err, cause);
		free(cause);
		assert_int_equal(al.num, 0);
		arglist_free(&al);
		return;
	}
	if (r != 0)
		fail_msg("build: %s", cause ? cause : "NULL");
	n = count(c->out);
	for (i = 0; i < n && (size_t)i < al.num; i++) {
		if (strcmp(c->out[i], al.list[i]) != 0)
			fail_msg("argv[%d]: want \"%s\", got \"%s\"", i,
			    c->out[i], al.list[i]);
	}
	if (al.num != (size_t)n)
		fail_msg("argc: want %d, got %zu (next: %s)", n, al.num,
		    al.num > (size_t)n ? al.list[n] : c->out[al.num]);
	assert_null(al.list[al.num]);
	arglist_free(&al);
}

/* A parse that needs memory checks from argv_free() on a zeroed cmd. */
static void
t_free_zeroed(void **state)
{
	struct sshcmd	cmd;

	(void)state;
	memset(&cmd, 0, sizeof(cmd));
	argv_free(&cmd);
	assert_int_equal(cmd.port, -1);
}

#define NELEM(a)	(sizeof(a) / sizeof((a)[0]))

/* The grammar follows the installed ssh: -P a flag before 9.4. */
static void
t_grammar(void **state)
{
	const char	*av[] = { "-P", "-F/x", "h", NULL };
	const char	*zv[] = { "-Z", "h", NULL };
	struct sshcmd	 cmd;
	char		*cause = NULL;

	(void)state;
	assert_int_equal(argv_parse_ver(3, (char *const *)av, 902, &cmd,
	    &cause), 0);
	same("9.2 -P -F/x: config", "/x", cmd.config);
	same("9.2 -P -F/x: host", "h", cmd.host);
	argv_free(&cmd);
	assert_int_equal(argv_parse_ver(3, (char *const *)av, 1000, &cmd,
	    &cause), 0);
	same("10.0 -P -F/x: no config", NULL, cmd.config);
	argv_free(&cmd);
	/* -Z came with 10.5: unknown before, a passthrough after. */
	assert_int_equal(argv_parse_ver(2, (char *const *)zv, 1004, &cmd,
	    &cause), -1);
	free(cause);
	cause = NULL;
	assert_int_equal(argv_parse_ver(2, (char *const *)zv, 1005, &cmd,
	    &cause), 0);
	assert_int_equal(cmd.passthru, 'Z');
	argv_free(&cmd);
}

/* Passthrough letters found with getopt alone, nothing checked. */
static void
t_passthru(void **state)
{
	static const struct {
		const char	*av[6];
		int		 ver;
		int		 want;
	} c[] = {
		{ { "-G", "-o", "User=${FOO}", "h", NULL }, 0, 'G' },
		{ { "-o", "User=a;b", "h", "-G", NULL }, 0, 'G' },
		{ { "h", "ls", "-G", NULL }, 0, 0 },
		{ { "--", "h", "-G", NULL }, 0, 0 },
		{ { "-P", "-G", "h", NULL }, 902, 'G' },
		{ { "-P", "-G", "h", NULL }, 904, 0 },
		{ { "-oProxyCommand=x", "-V", NULL }, 0, 'V' },
		{ { "-O", "check", "h", NULL }, 0, 'O' },
		{ { "-Z", "h", NULL }, 1004, 0 },
		{ { "-Z", "h", NULL }, 1005, 'Z' },
		{ { "-z", "-G", "h", NULL }, 0, 0 },
		{ { "h", NULL }, 0, 0 },
	};
	size_t	i;
	int	n;

	(void)state;
	for (i = 0; i < NELEM(c); i++) {
		for (n = 0; c[i].av[n] != NULL; n++)
			;
		assert_int_equal(argv_passthru(n, (char *const *)c[i].av,
		    c[i].ver), c[i].want);
	}
}

/* -o CertificateFile is a key: taken out of the options. */
static void
t_certificate(void **state)
{
	const char	*av[] = { "-o", "\"CertificateFile\" /c", "h", NULL };
	const char	*two[] = { "-o", "CertificateFile /c", "-o",
	    "certificatefile=/d", "h", NULL };
	struct sshcmd	 cmd;
	char		*cause = NULL;

	(void)state;
	assert_int_equal(argv_parse(3, (char *const *)av, &cmd, &cause), 0);
	same("certificate", "/c", cmd.certificate);
	assert_int_equal(cmd.nopts, 0);
	argv_free(&cmd);
	assert_int_equal(argv_parse(5, (char *const *)two, &cmd, &cause),
	    -1);
	assert_non_null(strstr(cause, "CertificateFile"));
	free(cause);
}

/* ssh_config's keyword and argv_split, as readconf.c reads them. */
static void
t_cfgline(void **state)
{
	static const struct {
		const char	*line;
		const char	*kw;
		const char	*val;
	} c[] = {
		{ "IdentityFile x", "identityfile", "x" },
		{ "\"IdentityFile\" x", "identityfile", "x" },
		{ "\tIDENTITYFILE=x", "identityfile", "x" },
		{ "  identityfile2 = x", "identityfile2", "x" },
		{ "Identity\"File\" x", "identityfile", "x" },
		{ "# IdentityFile x", NULL, NULL },
		{ "   ", NULL, NULL },
		{ "CertificateFile\t\"a b\"\r\n", "certificatefile",
		    "\"a b\"" },
	};
	const char	*kw, *val;
	char		*buf, **w;
	size_t		 i;
	int		 n;

	(void)state;
	for (i = 0; i < NELEM(c); i++) {
		assert_int_equal(argv_cfgline(c[i].line, &buf, &kw, &val), 0);
		same(c[i].line, c[i].kw, kw);
		same(c[i].line, c[i].val, val);
		free(buf);
	}
	assert_int_equal(argv_cfgwords("a \"b c\" d\\ e # f", &n, &w), 0);
	assert_int_equal(n, 3);
	same("word 0", "a", w[0]);
	same("word 1", "b c", w[1]);
	same("word 2", "d e", w[2]);
	assert_null(w[3]);
	argv_cfgwords_free(w);
	assert_int_equal(argv_cfgwords("\"a", &n, &w), -1);
}

/* The probe's argv and -F replacement live in argv.c too. */
static void
t_probe(void **state)
{
	const char	*av[] = { "-F", "/top", "-G", "-s", "-p", "22", "h",
	    "cmd", NULL };
	struct sshcmd	 cmd;
	struct rewrite	 rw;
	struct arglist	 al = { NULL, 0, 0 };
	char		*cause = NULL, *q;

	(void)state;
	assert_int_equal(argv_parse(8, (char *const *)av, &cmd, &cause), 0);
	assert_int_equal(argv_set_config(&cmd, "/orig", &cause), 0);
	same("config", "/orig", cmd.config);
	memset(&rw, 0, sizeof(rw));
	rw.hostname = "1.2.3.4";
	rw.port = 2222;
	assert_int_equal(argv_build_probe(&cmd, &rw, "/usr/bin/ssh", &al,
	    &cause), 0);
	q = arglist_quote(al.list, al.num);
	same("probe", "/usr/bin/ssh -G -oHostName=1.2.3.4 -oPort=2222 "
	    "-F /orig -p 22 -- h", q);
	free(q);
	arglist_free(&al);
	assert_int_equal(argv_set_config(&cmd, NULL, &cause), 0);
	same("no config", NULL, cmd.config);
	assert_int_equal(cmd.nopts, 3);		/* -G -s -p */
	argv_free(&cmd);
}

/* A mux client's argv leaves -J out, through the rewrite alone. */
static void
t_nojump(void **state)
{
	const char	*av[] = { "-J", "hop", "h", NULL };
	struct sshcmd	 cmd;
	struct rewrite	 rw;
	struct arglist	 al = { NULL, 0, 0 };
	char		*cause = NULL, *q;

	(void)state;
	assert_int_equal(argv_parse(3, (char *const *)av, &cmd, &cause), 0);
	memset(&rw, 0, sizeof(rw));
	rw.nojump = 1;
	assert_int_equal(argv_build(&cmd, &rw, "ssh", &al, &cause), 0);
	q = arglist_quote(al.list, al.num);
	assert_null(strstr(q, "-J"));
	free(q);
	arglist_free(&al);
	assert_int_equal(cmd.nopts, 1);		/* the parse keeps it */
	argv_free(&cmd);
}

int
main(void)
{
	struct CMUnitTest	*t;
	size_t			 i, n = 0, total;
	int			 r;

	total = NELEM(pcases) + NELEM(vcases) + NELEM(ocases) +
	    NELEM(bcases) + 7;
	if ((t = calloc(total, sizeof(*t))) == NULL)
		return 1;
	for (i = 0; i < NELEM(pcases); i++, n++) {
		t[n].name = pcases[i].name;
		t[n].test_func = t_parse;
		t[n].initial_state = (void *)&pcases[i];
	}
	for (i = 0; i < NELEM(vcases); i++, n++) {
		t[n].name = vcases[i].name;
		t[n].test_func = t_valid;
		t[n].initial_state = (void *)&vcases[i];
	}
	for (i = 0; i < NELEM(ocases); i++, n++) {
		t[n].name = ocases[i].name;
		t[n].test_func = t_option;
		t[n].initial_state = (void *)&ocases[i];
	}
	for (i = 0; i < NELEM(bcases); i++, n++) {
		t[n].name = bcases[i].name;
		t[n].test_func = t_build;
		t[n].initial_state = (void *)&bcases[i];
	}
	t[n].name = "argv_free on a zeroed cmd";
	t[n].test_func = t_free_zeroed;
	n++;
	t[n].name = "grammar by ssh version";
	t[n++].test_func = t_grammar;
	t[n].name = "passthrough scan";
	t[n++].test_func = t_passthru;
	t[n].name = "-o CertificateFile";
	t[n++].test_func = t_certificate;
	t[n].name = "ssh_config line grammar";
	t[n++].test_func = t_cfgline;
	t[n].name = "probe argv and -F";
	t[n++].test_func = t_probe;
	t[n].name = "rewrite without -J";
	t[n++].test_func = t_nojump;
	r = _cmocka_run_group_tests("argv", t, n, NULL, NULL);
	free(t);
	return r;
}
