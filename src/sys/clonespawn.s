# The spawn routine of src/sys/clonespawn.ts, for x86-64 Linux: the source of
# the bytes that file maps and calls (`as clonespawn.s && objcopy -O binary
# -j .text`; test/clonespawn.test.ts checks that they match when binutils is
# installed). Raw system calls only: no libc, no stack in the child.
#
# long spawn(struct request *r)   returns the child's pid, or -errno; an errno
# with 0x10000 set means this kernel cannot unshare the fd table in
# close_range (before Linux 5.9, or a seccomp filter refusing it).
#
# The request (little-endian; clonespawn.ts writes it):
#     0  path          char *          execve's
#     8  argv          char **
#    16  envp          char **
#    24  cwd           char *          chdir first (0: none)
#    32  setsid        u32             setsid() in the child when not 0
#    36  keep          u32             the first fd not copied into the child
#    40  ndup          u32             dup pairs at 128
#    44  nslot         u32             slot moves at 192
#    48  err           i32             the child's errno (0 before the call)
#    52  devnull       i32             what a slot holds between calls
#    56  stack         u64             the child's stack (top)
#    64  oldmask       sigset          the caller's mask, kept here meanwhile
#    72  fullmask      sigset          every signal
#    80  emptymask     sigset          no signal
#    88  dfl           struct sigaction  SIG_DFL, no flags, empty mask (32 bytes)
#   120  nowait        u32             not 0: do not wait for the exec (see below)
#   124  word          i32             with nowait: 1 before the call, cleared by
#                                      the kernel when the child has exec'd or exited
#   128  dups          {from, to} i32 x 8, applied in order as dup2(from, to);
#                      from == to clears close-on-exec instead
#   192  slots         {src, slot} i32 x 4: each src (an fd at or above keep)
#                      is put on a slot below keep for the child to find;
#                      a slot is close-on-exec at all times
#
# In the caller: each src onto its slot, every signal blocked on this thread,
# then clone(CLONE_VM | CLONE_FILES | CLONE_VFORK | SIGCHLD): the child shares
# memory and the fd table, and this thread sleeps until the child has exec'd
# or exited. Then the mask and the slots (devnull again) are given back.
# With nowait (src/sys/unwaited.ts), CLONE_CHILD_CLEARTID on the word instead
# of CLONE_VFORK: this thread goes on at once, the request's memory stays the
# child's until the kernel clears the word, and nothing is given back (such a
# request has no slots); a failed exec's errno is left in err.
#
# In the child: chdir (while the fd a /proc/self/fd/N directory names is
# still there), then close_range(keep, ~0, CLOSE_RANGE_UNSHARE) gives it a
# table of its own holding only the fds below keep (a copy of a few dozen
# entries, not of thousands; nothing of the parent's is closed), every signal
# to its default action, setsid, the dups, an empty mask, execve (which
# closes the slots). A failure stores the errno in err and exits 127.
	.text
	.globl spawn
spawn:
	push %rbx
	push %r12
	push %r13
	mov %rdi, %r12
	xor %r13d, %r13d
.Lmove:					# each src onto its slot
	cmp 44(%r12), %r13d
	jae .Lmoved
	mov 192(%r12,%r13,8), %edi
	mov 196(%r12,%r13,8), %esi
	mov $0x80000, %edx		# dup3(src, slot, O_CLOEXEC): another child
	mov $292, %eax			# cloned meanwhile does not keep it
	syscall
	mov %rax, %rbx
	test %rax, %rax
	js .Lrelease
	inc %r13d
	jmp .Lmove
.Lmoved:
	mov $14, %eax			# rt_sigprocmask(SIG_SETMASK, &fullmask, &oldmask, 8)
	mov $2, %edi
	lea 72(%r12), %rsi
	lea 64(%r12), %rdx
	mov $8, %r10d
	syscall
	mov $56, %eax			# clone(CLONE_VM|CLONE_FILES|CLONE_VFORK|SIGCHLD, stack, 0, 0, 0)
	mov $0x4511, %edi
	xor %r10d, %r10d
	cmpl $0, 120(%r12)
	je .Lvfork
	mov $0x200511, %edi		# nowait: CLONE_CHILD_CLEARTID on the word at 124
	lea 124(%r12), %r10
.Lvfork:
	mov 56(%r12), %rsi
	xor %edx, %edx
	xor %r8d, %r8d
	syscall
	test %rax, %rax
	jz .Lchild
	mov %rax, %rbx			# the pid, or -errno
	mov $14, %eax			# rt_sigprocmask(SIG_SETMASK, &oldmask, 0, 8)
	mov $2, %edi
	lea 64(%r12), %rsi
	xor %edx, %edx
	mov $8, %r10d
	syscall
	cmpl $0, 120(%r12)
	jne .Lout
.Lrelease:
	xor %r13d, %r13d
.Lfree:					# devnull on each slot again
	cmp 44(%r12), %r13d
	jae .Lfreed
	mov 52(%r12), %edi
	mov 196(%r12,%r13,8), %esi
	mov $0x80000, %edx		# dup3(devnull, slot, O_CLOEXEC)
	mov $292, %eax
	syscall
	inc %r13d
	jmp .Lfree
.Lfreed:
	test %rbx, %rbx
	js .Lout
	movslq 48(%r12), %rax		# the child failed: -errno
	test %rax, %rax
	jz .Lout
	neg %rax
	mov %rax, %rbx
.Lout:
	mov %rbx, %rax
	pop %r13
	pop %r12
	pop %rbx
	ret
.Lchild:
	mov 24(%r12), %rdi		# chdir(cwd) first: it may be /proc/self/fd/N
	test %rdi, %rdi
	jz .Lunshare
	mov $80, %eax
	syscall
	test %rax, %rax
	js .Lfail
.Lunshare:
	mov $436, %eax			# close_range(keep, ~0, CLOSE_RANGE_UNSHARE)
	mov 36(%r12), %edi
	mov $-1, %esi
	mov $2, %edx
	syscall
	test %rax, %rax
	jnz .Lnounshare
	mov $1, %r13d
.Ldfl:					# rt_sigaction(sig, &dfl, 0, 8), sig 1 to 64
	mov $13, %eax
	mov %r13d, %edi
	lea 88(%r12), %rsi
	xor %edx, %edx
	mov $8, %r10d
	syscall				# (KILL and STOP refuse: no matter)
	inc %r13d
	cmp $64, %r13d
	jbe .Ldfl
	cmpl $0, 32(%r12)
	je .Ldups
	mov $112, %eax			# setsid
	syscall
	test %rax, %rax
	js .Lfail
.Ldups:
	xor %r13d, %r13d
.Ldup:
	cmp 40(%r12), %r13d
	jae .Lduped
	mov 128(%r12,%r13,8), %edi
	mov 132(%r12,%r13,8), %esi
	cmp %esi, %edi
	jne .Ldup2
	mov $72, %eax			# fcntl(fd, F_SETFD, 0)
	mov $2, %esi
	xor %edx, %edx
	syscall
	jmp .Ldupchk
.Ldup2:
	mov $33, %eax			# dup2(from, to)
	syscall
.Ldupchk:
	test %rax, %rax
	js .Lfail
	inc %r13d
	jmp .Ldup
.Lduped:
	mov $14, %eax			# rt_sigprocmask(SIG_SETMASK, &emptymask, 0, 8)
	mov $2, %edi
	lea 80(%r12), %rsi
	xor %edx, %edx
	mov $8, %r10d
	syscall
	mov $59, %eax			# execve(path, argv, envp)
	mov 0(%r12), %rdi
	mov 8(%r12), %rsi
	mov 16(%r12), %rdx
	syscall
.Lfail:
	neg %eax
	jmp .Lexit
.Lnounshare:
	neg %eax
	or $0x10000, %eax
.Lexit:
	mov %eax, 48(%r12)
	mov $231, %eax			# exit_group(127)
	mov $127, %edi
	syscall
	hlt
