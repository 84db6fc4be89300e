# bash completion for mkrun(8): commands, global and per-command flags, their values, and the ids
# of existing containers (`mkrun [--root DIR] list -q`, with the --root given on the line).
# Installed as /usr/share/bash-completion/completions/mkrun.
# Keep in step with `mkrun --help` and `mkrun CMD --help` (packaging/check-docs.sh compares them).

_mkrun_commands="checkpoint create delete events exec features help kill list pause ps restore resume run spec start state update"

# flags per command (_global: the global ones); a trailing "=" marks a flag that takes a value
declare -gA _mkrun_flags=(
  [_global]="--debug --log= --log-format= --root= --criu= --systemd-cgroup --cgroup-manager= --rootless= --kernel= --cdi-device= --cdi-spec-dirs= --help -h --version -v"
  [create]="--bundle= -b= --console-socket= --pidfd-socket= --pid-file= --no-pivot --no-new-keyring --preserve-fds="
  [run]="--bundle= -b= --console-socket= --pidfd-socket= --detach -d --keep --pid-file= --no-subreaper --no-pivot --no-new-keyring --preserve-fds="
  [start]=""
  [state]=""
  [kill]="--all -a"
  [delete]="--force -f"
  [exec]="--console-socket= --pidfd-socket= --cwd= --env= -e= --tty -t --user= -u= --additional-gids= -g= --process= -p= --detach -d --pid-file= --process-label= --apparmor= --no-new-privs --cap= -c= --preserve-fds= --cgroup= --ignore-paused"
  [ps]="--format= -f="
  [pause]=""
  [resume]=""
  [update]="--resources= -r= --blkio-weight= --cpu-period= --cpu-quota= --cpu-burst= --cpu-share= --cpu-rt-period= --cpu-rt-runtime= --cpuset-cpus= --cpuset-mems= --memory= --cpu-idle= --memory-reservation= --memory-swap= --pids-limit= --l3-cache-schema= --mem-bw-schema="
  [events]="--interval= --stats"
  [checkpoint]="--image-path= --work-path= --parent-path= --leave-running --tcp-established --ext-unix-sk --shell-job --lazy-pages --status-fd= --page-server= --file-locks --pre-dump --manage-cgroups-mode= --empty-ns= --auto-dedup"
  [restore]="--console-socket= --image-path= --work-path= --tcp-established --ext-unix-sk --shell-job --file-locks --manage-cgroups-mode= --bundle= -b= --detach -d --pid-file= --no-subreaper --no-pivot --empty-ns= --auto-dedup --lazy-pages --lsm-profile= --lsm-mount-context="
  [list]="--format= -f= --quiet -q"
  [spec]="--bundle= -b= --rootless"
  [features]=""
  [help]=""
)
# commands whose first argument is an existing container
_mkrun_id_commands=" checkpoint start state kill delete exec ps pause resume update events "

# _mkrun_names CMD: the flag names of CMD (without the "=" marks), plus --help
_mkrun_names() { local f; for f in ${_mkrun_flags[$1]}; do echo "${f%=}"; done; [ "$1" != _global ] && echo "--help -h"; }
# _mkrun_takes_value CMD FLAG
_mkrun_takes_value() {
  local f=${2#-}; f=-${f#-}; [[ $2 == --* ]] && f=$2   # -root and --root are the same flag
  [[ " ${_mkrun_flags[$1]} " == *" $f= "* ]] || [[ " ${_mkrun_flags[$1]} " == *" -$f= "* ]]
}

_mkrun() {
  local cur prev i w cmd="" cmd_index=0 root="" nargs=0 scope
  COMPREPLY=()
  cur=${COMP_WORDS[COMP_CWORD]}
  prev=${COMP_WORDS[COMP_CWORD-1]}

  # the command: the first word that is neither a global flag nor a global flag's value
  for (( i = 1; i < COMP_CWORD; i++ )); do
    w=${COMP_WORDS[i]}
    case "$w" in
      --root=*|-root=*) root=${w#*=} ;;
      --root|-root) root=${COMP_WORDS[i+1]} ;;
    esac
    if [[ $w == -* ]]; then
      [[ $w != *=* ]] && _mkrun_takes_value _global "$w" && (( i++ ))
      continue
    fi
    cmd=$w; cmd_index=$i; break
  done
  [ "$cmd" = h ] && cmd=help
  scope=${cmd:-_global}

  # the value of the previous flag
  if [[ $prev == -* ]] && _mkrun_takes_value "$scope" "$prev"; then
    case "$prev" in
      --log-format) COMPREPLY=($(compgen -W "text json" -- "$cur")) ;;
      --rootless) COMPREPLY=($(compgen -W "true false auto" -- "$cur")) ;;
      --kernel) COMPREPLY=($(compgen -W "linux mckernel" -- "$cur")) ;;
      --cgroup-manager) COMPREPLY=($(compgen -W "cgroupfs systemd disabled" -- "$cur")) ;;
      --format|-f) COMPREPLY=($(compgen -W "table json" -- "$cur")) ;;
      --manage-cgroups-mode) COMPREPLY=($(compgen -W "soft full strict ignore" -- "$cur")) ;;
      --empty-ns) COMPREPLY=($(compgen -W "network" -- "$cur")) ;;
      --root|--bundle|-b|--cwd|--image-path|--work-path|--parent-path) COMPREPLY=($(compgen -d -- "$cur")) ;;
      --log|--criu|--console-socket|--pidfd-socket|--pid-file|--process|-p|--resources|-r) COMPREPLY=($(compgen -f -- "$cur")) ;;
      --cap|-c) COMPREPLY=($(compgen -W "CAP_AUDIT_CONTROL CAP_AUDIT_READ CAP_AUDIT_WRITE CAP_BLOCK_SUSPEND CAP_BPF
        CAP_CHECKPOINT_RESTORE CAP_CHOWN CAP_DAC_OVERRIDE CAP_DAC_READ_SEARCH CAP_FOWNER CAP_FSETID CAP_IPC_LOCK
        CAP_IPC_OWNER CAP_KILL CAP_LEASE CAP_LINUX_IMMUTABLE CAP_MAC_ADMIN CAP_MAC_OVERRIDE CAP_MKNOD CAP_NET_ADMIN
        CAP_NET_BIND_SERVICE CAP_NET_BROADCAST CAP_NET_RAW CAP_PERFMON CAP_SETFCAP CAP_SETGID CAP_SETPCAP CAP_SETUID
        CAP_SYSLOG CAP_SYS_ADMIN CAP_SYS_BOOT CAP_SYS_CHROOT CAP_SYS_MODULE CAP_SYS_NICE CAP_SYS_PACCT CAP_SYS_PTRACE
        CAP_SYS_RAWIO CAP_SYS_RESOURCE CAP_SYS_TIME CAP_SYS_TTY_CONFIG CAP_WAKE_ALARM" -- "$cur")) ;;
    esac
    return   # other values are free-form
  fi

  if [ -z "$cmd" ]; then
    if [[ $cur == -* ]]; then
      COMPREPLY=($(compgen -W "$(_mkrun_names _global)" -- "$cur"))
    else
      COMPREPLY=($(compgen -W "$_mkrun_commands" -- "$cur"))
    fi
    return
  fi
  [ -n "${_mkrun_flags[$cmd]+set}" ] || return   # not a command

  # the positional arguments already given after the command
  for (( i = cmd_index + 1; i < COMP_CWORD; i++ )); do
    w=${COMP_WORDS[i]}
    if [[ $w == -* ]] && [ $nargs -eq 0 -o \( "$cmd" != exec -a "$cmd" != ps \) ]; then
      [[ $w != *=* ]] && _mkrun_takes_value "$cmd" "$w" && (( i++ ))
      continue
    fi
    (( nargs++ ))
  done

  if [ "$cmd" = help ]; then
    [ $nargs -eq 0 ] && COMPREPLY=($(compgen -W "$_mkrun_commands" -- "$cur"))
    return
  fi
  # exec and ps: what follows the container id belongs to the process, or to ps(1)
  if { [ "$cmd" = exec ] || [ "$cmd" = ps ]; } && [ $nargs -ge 1 ]; then
    [ "$cmd" = exec ] && [ $nargs -eq 1 ] && COMPREPLY=($(compgen -c -- "$cur"))
    return
  fi
  if [[ $cur == -* ]]; then
    COMPREPLY=($(compgen -W "$(_mkrun_names "$cmd")" -- "$cur"))
    return
  fi
  if [[ $_mkrun_id_commands == *" $cmd "* ]]; then
    if [ $nargs -eq 0 ]; then
      if [ -n "$root" ]; then
        COMPREPLY=($(compgen -W "$("${COMP_WORDS[0]}" --root "$root" list -q 2>/dev/null)" -- "$cur"))
      else
        COMPREPLY=($(compgen -W "$("${COMP_WORDS[0]}" list -q 2>/dev/null)" -- "$cur"))
      fi
    elif [ "$cmd" = kill ] && [ $nargs -eq 1 ]; then
      COMPREPLY=($(compgen -W "$(kill -l | tr -s '[:space:]' '\n' | sed -n 's/^SIG//p')" -- "${cur#SIG}"))
    fi
  fi
}
complete -F _mkrun mkrun
