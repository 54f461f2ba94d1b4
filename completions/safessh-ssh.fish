# safessh-ssh.fish: fish start-up snippet (vendor_conf.d) for safessh(1).
#
# When ssh is safessh (an ssh on PATH that links to it, such as
# ~/bin/ssh), "ssh <TAB>" completes as "safessh <TAB>" does: safessh's
# [host] names and long options, on top of fish's own ssh completion.
# (alias ssh=safessh needs nothing: fish's alias wraps safessh.)  Costs
# nothing until ssh is completed; then one look at PATH.

# Succeed when the ssh on PATH is safessh or a link to it.
function __safessh_ssh_is_safessh
    set -l p (command -s ssh); or return 1
    test (string replace -r '.*/' '' -- $p) = safessh; and return 0
    set -l r (realpath -- $p 2>/dev/null); or return 1
    test (string replace -r '.*/' '' -- $r) = safessh
end

# Print what "safessh ARGS" would offer for the words typed after ssh.
function __safessh_ssh_as_safessh
    # The inner "ssh" completion asked by safessh's own completion.
    set -q __safessh_in_ssh; and return 0
    if not functions -q __safessh_complete_ssh
        for d in $fish_complete_path
            if test -r $d/safessh.fish
                source $d/safessh.fish
                break
            end
        end
    end
    set -l tok (commandline -opc)
    set -e tok[1]
    set -l line safessh
    for t in $tok
        set -a line (string escape -- $t)
    end
    set -a line (commandline -ct)
    complete -C (string join ' ' -- $line)
end

complete -c ssh -n __safessh_ssh_is_safessh -f -a '(__safessh_ssh_as_safessh)'
