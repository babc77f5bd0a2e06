"""cc-proxy's one import name. The repository keeps engine/, server/, rules/ and schemas/ at its top level
(the design card); the links beside this file make them cc_proxy.engine, cc_proxy.server, ... so that an
installed cc-proxy claims no generic top-level name (`rules`, `server`) another package may own."""
