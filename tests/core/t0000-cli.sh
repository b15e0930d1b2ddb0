#!/bin/sh
# The command line: help, version, and usage errors (exit 2).

test_description='goheap command line: --help, --version, -h of every command, usage errors'
. "$(dirname "$0")/../lib/test-lib.sh"

test_expect_success 'goheap --help: usage on stdout, exit 0' '
	expect_exit 0 "$GOHEAP" --help >out &&
	grep -i "usage" out &&
	grep "info" out &&
	grep "histogram" out &&
	test_must_be_empty stderr
'

test_expect_success 'goheap --version: exit 0, a version on stdout' '
	expect_exit 0 "$GOHEAP" --version >out &&
	grep "[0-9]" out &&
	test_must_be_empty stderr
'

test_expect_success 'goheap without a command: exit 2, usage on stderr' '
	expect_exit 2 "$GOHEAP" >out &&
	test_must_be_empty out &&
	grep -i "usage" stderr
'

test_expect_success 'goheap nosuchcmd: exit 2' '
	expect_exit 2 "$GOHEAP" nosuchcmd >out &&
	test_must_be_empty out &&
	grep "^goheap: " stderr &&
	grep "nosuchcmd" stderr
'

test_expect_success 'goheap info without a core: exit 2' '
	expect_exit 2 "$GOHEAP" info >out &&
	test_must_be_empty out &&
	test -s stderr
'

test_expect_success 'goheap info --nosuchoption: exit 2' '
	expect_exit 2 "$GOHEAP" info --nosuchoption core >out &&
	test_must_be_empty out &&
	test -s stderr
'

test_expect_success 'goheap info -h: usage on stdout, exit 0' '
	expect_exit 0 "$GOHEAP" info -h >out &&
	grep "goheap info" out &&
	test_must_be_empty stderr
'

# Every command that --help lists answers -h and --help (git's t0012).
test_expect_success 'the commands --help lists' '
	expect_exit 0 "$GOHEAP" --help >help &&
	sed -n "/^commands:/,/^\$/s/^  \([a-z][a-z-]*\) .*/\1/p" help >commands &&
	test_note "commands: $(echo $(cat commands))" &&
	grep "^info\$" commands &&
	grep "^histogram\$" commands
'

for cmd in $(cat "$TRASH_DIRECTORY/commands" 2>/dev/null)
do
	test_expect_success "goheap $cmd -h and --help: exit 0, usage on stdout" '
		expect_exit 0 "$GOHEAP" "$cmd" -h >out &&
		grep -i "usage\|goheap $cmd" out &&
		test_must_be_empty stderr &&
		expect_exit 0 "$GOHEAP" "$cmd" --help >out2 &&
		test_cmp out out2
	'
	test_expect_success "goheap $cmd without arguments: exit 2" '
		expect_exit 2 "$GOHEAP" "$cmd" >out &&
		test_must_be_empty out &&
		test -s stderr
	'
done

test_done
