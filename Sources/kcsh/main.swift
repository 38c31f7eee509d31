#if canImport(Glibc)
  import Glibc
#elseif canImport(Darwin)
  import Darwin
#endif
import Shell

exit(Kcsh.main(argc: CommandLine.argc, argv: CommandLine.unsafeArgv))
