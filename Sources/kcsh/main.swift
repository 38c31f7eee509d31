import Glibc
import Shell

exit(Kcsh.main(argc: CommandLine.argc, argv: CommandLine.unsafeArgv))
