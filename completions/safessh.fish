# safessh.fish: fish completion for safessh(1).
#
# safessh's own long options come first; after --status, --check,
# --forget, --doctor and --proxy a host name; everything else is ssh's
# grammar, completed by asking fish how it would complete the same words
# after "ssh" (like --wraps ssh, but only where ssh's grammar applies).
# Host names come from safessh's configuration ([host] patterns without
# wildcards), ssh's configuration (Host entries without wildcards,
# following Include) and the plain, unhashed known_hosts entries.

# Print the [host ...] patterns without wildcards of safessh's config.
function __safessh_conf_hosts
    set -l files
    if test -n "$SAFESSH_CONFIG"
        set files $SAFESSH_CONFIG
    else
        set -l xdg $XDG_CONFIG_HOME
        test -n "$xdg"; or set xdg $HOME/.config
        set files /etc/safessh.conf $xdg/safessh/config
    end
    for f in $files
        test -f $f -a -r $f; or continue
        string replace -rf '^\s*\[\s*host\s+([^\]]*)\].*$' '$1' <$f |
            string replace -ra '[\s,]+' ' ' | string split -n ' ' |
            string match -rv '[*?!]'
    end
end

# __safessh_ssh_hosts FILE BASE DEPTH: print the Host names without
# wildcards of an ssh_config file and of the files it includes (relative
# Include paths are taken from BASE, as ssh does).
function __safessh_ssh_hosts -a file base depth
    test $depth -le 16; or return 0
    test -f $file -a -r $file; or return 0
    for line in (string trim <$file)
        set -l m (string match -ri '^(host|include)(?:\s*=\s*|\s+)(.*)$' -- $line)
        or continue
        set -l key (string lower -- $m[2])
        for w in (string split -n ' ' -- (string replace -ra '\s+' ' ' -- $m[3]))
            string match -q '#*' -- $w; and break
            set w (string replace -r '^"(.*)"$' '$1' -- $w)
            test -n "$w"; or continue
            if test $key = host
                string match -qr '[*?!]' -- $w; or printf '%s\n' $w
                continue
            end
            switch $w
                case '~/*'
                    set w $HOME/(string sub -s 3 -- $w)
                case '/*'
                case '*'
                    set w $base/$w
            end
            # Expand the glob in w, and nothing else in it.
            set -l pat (string escape --no-quoted -- $w |
                string replace -a '\\*' '*' | string replace -a '\\?' '?')
            set -l paths
            eval "set paths $pat"
            for g in $paths
                __safessh_ssh_hosts $g $base (math $depth + 1)
            end
        end
    end
end

# Print the plain (unhashed, wildcard-free) known_hosts names.
function __safessh_known_hosts
    for f in $HOME/.ssh/known_hosts $HOME/.ssh/known_hosts2 \
            /etc/ssh/ssh_known_hosts /etc/ssh/ssh_known_hosts2
        test -f $f -a -r $f; or continue
        string replace -r '^\s*@cert-authority\s+' '' <$f |
            string match -rv '^\s*($|[#@|])' |
            string replace -rf '^\s*(\S+).*$' '$1' |
            string split ',' |
            string replace -r '^\[([^\]]*)\].*$' '$1' |
            string match -rv '^$|[*?!|]'
    end
end

# Print every host name, once.
function __safessh_hosts
    begin
        __safessh_conf_hosts
        __safessh_ssh_hosts $HOME/.ssh/config $HOME/.ssh 0
        __safessh_ssh_hosts /etc/ssh/ssh_config /etc/ssh 0
        __safessh_known_hosts
    end | awk '!seen[$0]++'
end

# Print the host names with the user@ of the current token, if any.
function __safessh_user_at_hosts
    set -l user (string match -r '^[^@]*@' -- (commandline -ct))
    for h in (__safessh_hosts)
        printf '%s%s\n' "$user" $h
    end
end

# The tokens before the cursor, without "safessh".
function __safessh_args
    set -l tok (commandline -opc)
    set -e tok[1]
    string join \n -- $tok
end

# Succeed when the current token is the first argument.
function __safessh_first
    test (count (__safessh_args)) -eq 0
end

# Succeed when safessh's mode (its first argument) is one of argv.
function __safessh_mode
    set -l tok (__safessh_args)
    set -q tok[1]; and contains -- $tok[1] $argv
end

# Succeed when the current token is a host name after a mode option
# (after --forget, also after its --limits).
function __safessh_want_host
    set -l tok (__safessh_args)
    if test (count $tok) -eq 2
        test "$tok[1]" = --forget; and test "$tok[2]" = --limits
        return
    end
    test (count $tok) -eq 1
    and contains -- $tok[1] --status --check --forget --doctor --proxy
end

# Succeed right after --forget: its --limits may come first.
function __safessh_want_limits
    set -l tok (__safessh_args)
    test (count $tok) -eq 1; and test "$tok[1]" = --forget
end

# Succeed when nothing may follow: after --version, --help, the internal
# --authed and --mux-lost, or after the host of --status, --check,
# --forget, --doctor, --proxy.
function __safessh_want_nothing
    set -l tok (__safessh_args)
    set -q tok[1]; or return 1
    contains -- $tok[1] --version --help --authed --mux-lost; and return 0
    if test "$tok[1]" = --forget; and test "$tok[2]" = --limits
        test (count $tok) -ge 3
        return
    end
    contains -- $tok[1] --status --check --forget --doctor --proxy
    and test (count $tok) -ge 2
end

# The tokens that are ssh's arguments (after safessh and --dry-run).
function __safessh_ssh_args
    set -l tok (__safessh_args)
    test "$tok[1]" = --dry-run; and set -e tok[1]
    string join \n -- $tok
end

# Succeed when the rest is ssh's grammar.
function __safessh_want_ssh
    __safessh_want_host; and return 1
    __safessh_want_nothing; and return 1
    not string match -q -- '--*' (commandline -ct)
    or not __safessh_first
end

# Succeed when the current token is ssh's destination.
function __safessh_at_dest
    string match -q -- '-*' (commandline -ct); and return 1
    set -l tok (__safessh_ssh_args)
    set -l i 1
    set -l n (count $tok)
    while test $i -le $n
        set -l w $tok[$i]
        if test "$w" = --
            test $i -eq $n
            return
        end
        string match -q -- '-?*' $w; or return 1
        # A cluster such as -4Cp: its argument is the next word when the
        # first letter taking one ends the word.
        set -l m (string match -r -- '^-[^BbcDEeFIiJLlmOoPpQRSWw]*([BbcDEeFIiJLlmOoPpQRSWw])(.*)$' $w)
        if set -q m[1]; and test -z "$m[3]"
            set i (math $i + 1)
        end
        set i (math $i + 1)
    end
    test $i -eq (math $n + 1)
end

# Complete the current token as ssh would, given ssh's arguments so far.
# When ssh is safessh (alias ssh=safessh wraps it), asking fish about
# "ssh ..." comes back here: the inner call adds nothing, and fish's own
# ssh completion answers.
function __safessh_complete_ssh
    set -q __safessh_in_ssh; and return 0
    set -g __safessh_in_ssh 1
    __safessh_complete_ssh_1
    set -e __safessh_in_ssh
end

function __safessh_complete_ssh_1
    set -l tok (__safessh_ssh_args)
    set -l line ssh
    for t in $tok
        set -a line (string escape -- $t)
    end
    set -a line (commandline -ct)
    if __safessh_at_dest
        # fish's own ssh_config reader keeps negated patterns ("!host").
        complete -C (string join ' ' -- $line) | string match -rv '^[^\t]*[*?!]'
    else
        complete -C (string join ' ' -- $line)
    end
end

complete -c safessh -e
complete -c safessh -n __safessh_first -f -l proxy \
    -d 'ProxyCommand mode: admission control, then relay to host port'
complete -c safessh -n __safessh_first -f -l status \
    -d 'Show the servers\' ledgers and state'
complete -c safessh -n __safessh_first -f -l check \
    -d 'One careful attempt, allowed during a cooldown'
complete -c safessh -n __safessh_first -f -l forget \
    -d 'Clear a server\'s history'
complete -c safessh -n __safessh_want_limits -f -l limits \
    -d 'With --forget: drop the learned limits too'
complete -c safessh -n __safessh_first -f -l dry-run \
    -d 'Print the ssh command and the decision; connect to nothing'
complete -c safessh -n __safessh_first -f -l doctor \
    -d 'Audit agent keys, key files and IdentityFile lines'
complete -c safessh -n __safessh_first -f -l version -d 'Print the version'
complete -c safessh -n __safessh_first -f -l help -d 'Print a usage summary'

complete -c safessh -n __safessh_want_host -f -a '(__safessh_user_at_hosts)'
complete -c safessh -n __safessh_want_nothing -f
complete -c safessh -n __safessh_want_ssh -f -a '(__safessh_complete_ssh)'
complete -c safessh -n '__safessh_want_ssh; and __safessh_at_dest' -f \
    -d Host -a '(__safessh_user_at_hosts)'
