# runsvdir's launcher (libexec/runsvdir-start, x86-64 Linux): the source of
# the bytes scripts/start.mjs writes as a static executable
# (`as start.s && objcopy -O binary -j .text`; test/runsvdir-start.test.ts
# checks that they match when binutils is installed). Raw system calls only.
#
#     runsvdir-start NODE FLAG... HOST SCRIPT ARG...
#
# starts the supervision host, `NODE FLAG... HOST SCRIPT ARG...`, and then
# becomes runsvdir, `NODE FLAG... SCRIPT ARG...` with HOST for its argv[0]
# (how runsvdir knows its host is started; NODE when it is not): the two
# Node processes start up
# side by side instead of one after the other. Between them:
#     the host's fd 3  <- pipe <-  runsvdir's fd 3   (the channel)
#     the host's fd 2  -> pipe ->  runsvdir's fd 4   (the host's stderr)
#     the host's fd 4: the stderr both had (the host takes it back when
#     runsvdir keeps no log)
# The host's fd table is made 2048 slots large before its exec (a
# close-on-exec fd 2047, its soft fd limit raised to the hard one first): it
# keeps the size, and Node's threads never wait
# for it to grow (src/runsvdir/link.ts tableFd). vfork: runsvdir is exec'd
# once the host has been, or has failed to be. Should a pipe or the vfork
# fail, runsvdir is exec'd alone and starts its host itself.

        .intel_syntax noprefix
        .text
        .globl _start
_start:
        mov     rbx, [rsp]              # argc
        lea     r12, [rsp + 8]          # argv
        lea     r13, [r12 + rbx*8 + 8]  # envp
        cmp     rbx, 4                  # runsvdir-start NODE HOST SCRIPT at least
        jb      usage
        mov     r14d, 2                 # HOST: the first word after NODE not a flag
find:   cmp     r14, rbx
        jae     usage
        mov     rax, [r12 + r14*8]
        cmp     byte ptr [rax], '-'
        jne     found
        inc     r14
        jmp     find
found:  lea     rax, [r14 + 1]          # SCRIPT after it
        cmp     rax, rbx
        jae     usage
        mov     edi, 2                  # the stderr both had, before a pipe can take fd 2
        call    spare
        mov     ebp, eax
        sub     rsp, 16                 # [rsp]: the channel, [rsp+8]: stderr
        mov     eax, 293                # pipe2(channel, O_CLOEXEC)
        mov     rdi, rsp
        mov     esi, 0x80000
        syscall
        test    eax, eax
        jnz     alone
        mov     eax, 293                # pipe2(stderr, O_CLOEXEC)
        lea     rdi, [rsp + 8]
        mov     esi, 0x80000
        syscall
        test    eax, eax
        jnz     alone
        mov     eax, 58                 # vfork()
        syscall
        test    eax, eax
        js      alone
        jz      host
        # runsvdir: its ends onto 3 and 4. Each is copied above 9 first, and
        # only then put in place with dup2 (which makes an fd that is not
        # close-on-exec, and replaces what was there): an end may already be
        # 3 or 4, or the other end's place.
        mov     edi, [rsp + 4]          # the channel's write end
        call    spare
        mov     r15d, eax
        mov     edi, [rsp + 8]          # stderr's read end
        call    spare
        mov     esi, 4
        call    place
        mov     eax, r15d
        mov     esi, 3
        call    place
        mov     r15, [r12 + r14*8]      # HOST for runsvdir's argv[0]: its host is started
        jmp     exec

host:   mov     r15d, [rsp]             # the channel's read end
        mov     ebx, [rsp + 12]         # stderr's write end
        sub     rsp, 16                 # (below the parent's frame: vfork shares the stack)
        mov     eax, 97                 # getrlimit(RLIMIT_NOFILE): the soft limit raised
        mov     edi, 7                  # to the hard one, as Node raises it, so that
        mov     rsi, rsp                # fd 2047 fits
        syscall
        test    eax, eax
        jnz     1f
        mov     rax, [rsp + 8]
        mov     [rsp], rax
        mov     eax, 160                # setrlimit(RLIMIT_NOFILE)
        mov     edi, 7
        mov     rsi, rsp
        syscall
1:      mov     eax, 292                # dup3(channel's read end, 2047, O_CLOEXEC): the table's size
        mov     edi, r15d
        mov     esi, 2047
        mov     edx, 0x80000
        syscall
        mov     edi, r15d
        call    spare
        mov     r15d, eax
        mov     edi, ebx
        call    spare
        mov     esi, 2
        call    place
        mov     eax, r15d
        mov     esi, 3
        call    place
        mov     eax, ebp                # the stderr both had (when there was one)
        mov     esi, 4
        call    place
        mov     eax, 59                 # execve(NODE, argv + 1, envp)
        mov     rdi, [r12 + 8]
        lea     rsi, [r12 + 8]
        mov     rdx, r13
        syscall
        mov     eax, 231                # exit_group(111): runsvdir reaps it
        mov     edi, 111
        syscall

        # a pipe or the vfork failed: runsvdir alone, NODE for its argv[0]
alone:  mov     r15, [r12 + 8]
        # runsvdir: argv + 2, HOST taken out, r15 first
exec:   mov     rcx, r14
shift:  cmp     rcx, 2
        jbe     shifted
        mov     rax, [r12 + rcx*8 - 8]
        mov     [r12 + rcx*8], rax
        dec     rcx
        jmp     shift
shifted:
        mov     [r12 + 16], r15
        mov     eax, 59                 # execve(NODE, argv + 2, envp)
        mov     rdi, [r12 + 8]
        lea     rsi, [r12 + 16]
        mov     rdx, r13
        syscall
        mov     edi, 111                # exit_group(111)
        jmp     out
usage:  mov     edi, 100                # exit_group(100): not called as the runsvdir script calls it
out:    mov     eax, 231
        syscall

        # spare: fd edi copied at 10 or above, close-on-exec (fcntl
        # F_DUPFD_CLOEXEC): eax, or -errno
spare:  mov     eax, 72
        mov     esi, 1030
        mov     edx, 10
        syscall
        ret
        # place: fd eax (unless it is -errno) onto fd esi with dup2
place:  test    eax, eax
        js      1f
        mov     edi, eax
        mov     eax, 33
        syscall
1:      ret
