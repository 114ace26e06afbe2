-- proxyhunt 0.1.0 export: MITRE ATT&CK T1090.001 Internal Proxy
-- target: spark-sql; profile: default (packs: default)
--
-- Assumptions:
--   - table `falcon_events`: one row per Falcon Data Replicator event, one string column per FDR
--     field (event_simpleName, event_platform, timestamp, ImageFileName, CommandLine,
--     ParentBaseFileName, UserName, ComputerName, TargetProcessId, ContextProcessId, RawProcessId,
--     RegObjectName, RegValueName, RegStringValue, LocalAddressIP4, LocalPort, RemoteAddressIP4,
--     RemotePort); a column a feed lacks must exist as NULL
--   - timestamp = epoch milliseconds (FDR) or an ISO-8601 string; _timeutc is a TIMESTAMP, shown
--     in the session time zone (SET TIME ZONE 'UTC' to read it as UTC)
--   - Falcon has no named-pipe event: pipe_created rules are not covered
--   - registry rules run on RegGenericValueUpdate, RegSystemConfigValueUpdate and AsepValueUpdate;
--     TargetObject = RegObjectName || '\' || RegValueName
-- Field mapping (Sigma field -> this platform):
--   process_creation.Image -> ImageFileName
--   process_creation.CommandLine -> CommandLine
--   process_creation.User -> UserName
--   process_creation.Computer -> ComputerName
--   process_creation.ProcessId -> RawProcessId
--   registry_set.TargetObject -> TargetObject
--   registry_set.Details -> RegStringValue
--   network_connection.SourceIp -> LocalAddressIP4
--   network_connection.SourcePort -> LocalPort
--   network_connection.DestinationIp -> RemoteAddressIP4
--   network_connection.DestinationPort -> RemotePort
-- Scoring (same as `proxyhunt scan`):
--   rule_N = 1 when rule N matches; an indicator = 1 when any of its rules matches;
--   suspicion_score = sum of indicator weights; hits need suspicion_score > 0;
--   detection_type = first indicator that fired, in this order: is_proxy_tool=KnownProxyTool,
--     is_netsh_proxy=NetshPortProxy, is_ssh_tunnel=SSHTunneling, is_portfwd=PortForwardCommand,
--     is_tool_signature=ProxyToolArguments, is_netcat_relay=NetcatRelay,
--     is_portproxy_registry=PortProxyRegistry, is_cs_pipe=CobaltStrikePipe,
--     is_ssh_proxy_command=SSHProxyCommand, is_netsh_proxy_removal=NetshPortProxyRemoval,
--     is_portproxy_registry_removal=PortProxyRegistryRemoval;
--   severity = highest Sigma level among the rules that matched.
-- Rules:
--   rule_1: Chisel Client or Reverse Server Arguments (Any Binary Name) [is_tool_signature, high,
--     process_creation] d04c519e-3b97-496d-b208-64838faf1f56
--   rule_2: EarthWorm Tunnel Mode Arguments (Any Binary Name) [is_tool_signature, high,
--     process_creation] e55bdc20-899c-499f-b0f6-efd3ad7414f3
--   rule_3: FRP Client or Server Arguments (Any Binary Name) [is_tool_signature, high,
--     process_creation] b109d234-ce45-4d8c-91ca-ed9fbb0c4469
--   rule_4: GOST Tunnel Listener or Forward Chain Arguments (Any Binary Name) [is_tool_signature,
--     high, process_creation] 1551609a-27dc-4730-874b-40dd4848f927
--   rule_5: HTRAN, lcx or NATBypass Relay Arguments (Any Binary Name) [is_tool_signature, high,
--     process_creation] 36caa56e-80e6-42d2-8fd8-6369bf7e1c13
--   rule_6: iox Port Forward or Reverse Proxy Arguments (Any Binary Name) [is_tool_signature,
--     high, process_creation] 383aaa9b-d144-4b43-91b2-9660e00bdb1e
--   rule_7: Ligolo-ng Agent or Proxy Arguments (Any Binary Name) [is_tool_signature, high,
--     process_creation] a22e2a8f-5fbe-41b1-af31-1b20ff4b35ed
--   rule_8: Netcat Chained to Another Netcat (Relay) [is_netcat_relay, high, process_creation]
--     78a3fd75-da29-4f65-b2fb-a0f23e8ad4bb
--   rule_9: Netcat Listener Serving a Program (Bind Relay) [is_netcat_relay, high,
--     process_creation] ec579137-ec99-4127-bb02-9c3271fce007
--   rule_10: NPS Client Arguments (Any Binary Name) [is_tool_signature, high, process_creation]
--     36b520d3-a85e-4e50-bb84-e855f4fb3527
--   rule_11: Port Forwarding Arguments on a Command Line [is_portfwd, medium, process_creation]
--     e881c2d2-05f5-43df-9813-cdc44f5f0400
--   rule_12: PortProxy Registry Value Deleted From the Command Line
--     [is_portproxy_registry_removal, low, process_creation] 314ec471-3b37-45a5-831c-741600342606
--   rule_13: PortProxy Registry Value Written From the Command Line [is_portproxy_registry, high,
--     process_creation] cdae5a6c-6414-472a-8d96-2a99fc1fd699
--   rule_14: PortProxy Rule Written to the Registry [is_portproxy_registry, high, registry_set]
--     5fde7eb0-6472-437d-86f2-14749f695599
--   rule_15: Proxy or Pivot Tool Executed Under Its Own Name [is_proxy_tool, high,
--     process_creation] ed0bbdd3-ae49-4e3a-84ca-0a92e3c29246
--   rule_16: Revsocks Reverse SOCKS Arguments (Any Binary Name) [is_tool_signature, high,
--     process_creation] 5daa1566-26fa-480d-9b2d-a1c5feddea4f
--   rule_17: rpivot Reverse SOCKS Client or Server Arguments [is_tool_signature, high,
--     process_creation] bfbc73f6-fed4-4b88-9096-9feeeec360e2
--   rule_18: Socat Relaying Between Sockets or Serving a Program [is_netcat_relay, high,
--     process_creation] 2ee381d2-fcbb-4337-82d8-464edc47dd85
--   rule_19: SSH ProxyCommand Relaying Through Netcat or Socat [is_ssh_proxy_command, low,
--     process_creation] 26ce91ac-de59-4894-ba6a-a153032e6c3b
--   rule_20: Renamed Plink Opening a Port Forward [is_ssh_tunnel, high, process_creation]
--     ab52e3f8-92c1-4858-88ad-8efcc6d745c2
--   rule_21: Stowaway Multi-Hop Proxy Arguments (Any Binary Name) [is_tool_signature, high,
--     process_creation] f980f254-266e-48c5-85bb-710b743d5db3
--   rule_22: Venom Agent Reverse Connection Arguments (Any Binary Name) [is_tool_signature, high,
--     process_creation] 99f070b3-5880-45fd-8a97-9ff73c3e9064
-- Not covered by this query:
--   - Cobalt Strike Default Peer-to-Peer or Post-Exploitation Pipe
--     (bec0649f-d382-41eb-abee-7080597b7be3): category pipe_created has no table/event type on
--     this target
--   - Netsh PortProxy Rule Added or Changed (Any Syntax) (d5c5969c-31d0-458b-be93-4d21d6dd80af):
--     uses OriginalFileName, which this platform's events do not carry
--   - Netsh PortProxy Rule Deleted or Reset (Any Syntax) (33177e65-2d18-42e2-857a-bd57e2ce1984):
--     uses OriginalFileName, which this platform's events do not carry
--   - PortProxy Registry Key Created (4d99c5ee-c12d-4d5d-abe3-ac1fce39eee2): category registry_add
--     has no table/event type on this target
--   - PortProxy Rule Removed From the Registry (fca0a31e-0648-47ba-84fa-f93a77945f43): category
--     registry_delete has no table/event type on this target
--   - SSH or Plink Port Forwarding (Local, Remote, Dynamic, Tunnel Device)
--     (aeb934da-cac0-4e17-9483-a683f7ef243c): uses OriginalFileName, which this platform's events
--     do not carry
WITH events AS (
  SELECT *,
    concat_ws('\\', RegObjectName, RegValueName) AS TargetObject
  FROM falcon_events
  WHERE (event_simpleName IN ('ProcessRollup2', 'SyntheticProcessRollup2')) OR (event_simpleName IN ('RegGenericValueUpdate', 'RegSystemConfigValueUpdate', 'AsepValueUpdate') AND event_platform = 'Win')
),
flagged AS (
  SELECT *,
    CASE WHEN (event_simpleName IN ('ProcessRollup2', 'SyntheticProcessRollup2')) AND (CommandLine rlike '(?:^|["\'\\s])client\\s+(?:.*\\s)?(?:R:\\S+|(?:\\S+:)?socks)(?:\\s|$)' OR CommandLine rlike '(?:^|["\'\\s])server\\s+(?:.*\\s)?--?reverse(?:\\s|$)') THEN 1 ELSE 0 END AS rule_1,
    CASE WHEN (event_simpleName IN ('ProcessRollup2', 'SyntheticProcessRollup2')) AND (CommandLine rlike '(?iu)(?:^|\\s)-s\\s+(?:ssocksd|rcsocks|rssocks|lcx_tran|lcx_slave|lcx_listen)(?:\\s|$)') THEN 1 ELSE 0 END AS rule_2,
    CASE WHEN (event_simpleName IN ('ProcessRollup2', 'SyntheticProcessRollup2')) AND (CommandLine rlike '(?iu)(?:^|\\s)(?:-c|--config)(?:\\s+|=)["\']?(?:\\S*[\\\\/])?frp[cs][\\w.-]*\\.(?:ini|toml|ya?ml|json)' OR CommandLine rlike '(?:^|\\s)(?:tcp|udp|http|https|stcp|xtcp|sudp|tcpmux)\\s+(?:.*\\s)?--server-addr[\\s=]\\S+\\s(?:.*\\s)?--(?:remote-port|sk|local-port|role)[\\s=]') THEN 1 ELSE 0 END AS rule_3,
    CASE WHEN (event_simpleName IN ('ProcessRollup2', 'SyntheticProcessRollup2')) AND (CommandLine rlike '(?:^|\\s)-L(?:=\\S|\\s+["\']?(?:(?:socks[45]?|relay|rtcp|rudp|ss|ssu|sni|tcp|udp|kcp|quic|tun|tap|dns|red|redu|redirect|forward|ssh|sshd|ws|wss|mws|mwss|tls|mtls|h2|h2c|http2|icmp|ohttp|otls|grpc)(?:\\+[\\w-]+)*://|[\\w-]+\\+[\\w-]+://|https?://:\\d))' OR CommandLine rlike '(?:^|\\s)-F(?:=|\\s+)["\']?[\\w+-]+://\\S') THEN 1 ELSE 0 END AS rule_4,
    CASE WHEN (event_simpleName IN ('ProcessRollup2', 'SyntheticProcessRollup2')) AND (CommandLine rlike '(?iu)(?:^|\\s)-tran\\s+\\d{1,5}\\s+\\S+(?:\\s+\\d{1,5}|:\\d{1,5})(?:\\s|$)' OR CommandLine rlike '(?iu)(?:^|\\s)-slave\\s+(?:\\S+\\s+\\d{1,5}\\s+\\S+\\s+\\d{1,5}|\\S+:\\d{1,5}\\s+\\S+:\\d{1,5})(?:\\s|$)' OR CommandLine rlike '(?iu)(?:^|\\s)-listen\\s+\\d{1,5}\\s+\\d{1,5}(?:\\s|$)') THEN 1 ELSE 0 END AS rule_5,
    CASE WHEN (event_simpleName IN ('ProcessRollup2', 'SyntheticProcessRollup2')) AND (CommandLine rlike '(?:^|["\'\\s])fwd\\s+(?:-k\\s+\\S+\\s+|-u\\s+)*-[lr]\\s+\\S+\\s+(?:-k\\s+\\S+\\s+|-u\\s+)*-[lr]\\s+\\S' OR CommandLine rlike '(?:^|["\'\\s])proxy\\s+(?:-k\\s+\\S+\\s+|-u\\s+)*-r\\s+\\*?[\\w.\\[\\]:-]+:\\d{1,5}(?:\\s|$)' OR CommandLine rlike '(?:^|["\'\\s])proxy\\s+(?:-k\\s+\\S+\\s+|-u\\s+)*-l\\s+\\*?\\d{1,5}\\s+(?:-k\\s+\\S+\\s+|-u\\s+)*-l\\s+\\*?\\d{1,5}(?:\\s|$)') THEN 1 ELSE 0 END AS rule_6,
    CASE WHEN (event_simpleName IN ('ProcessRollup2', 'SyntheticProcessRollup2')) AND ((CommandLine rlike '(?:^|\\s)-connect\\s+\\S+:\\d{1,5}(?:\\s|$)' AND CommandLine rlike '(?:^|\\s)-(?:ignore-cert|accept-fingerprint|retry)(?:[\\s=]|$)') OR CommandLine rlike '(?:^|\\s)-(?:selfcert|autocert)(?:\\s|$)') THEN 1 ELSE 0 END AS rule_7,
    CASE WHEN (event_simpleName IN ('ProcessRollup2', 'SyntheticProcessRollup2')) AND (CommandLine rlike '(?:^|[\\s;&|(\\\\/"\'])(?:nc|nc64|ncat|netcat)(?:\\.exe)?\\s[^|;&]*\\|\\s*(?:[^|;&\\s]*[\\\\/])?(?:nc|nc64|ncat|netcat)(?:\\.exe)?\\s' OR (contains(lower(CommandLine), lower('mkfifo')) AND CommandLine rlike '(?:^|[\\s;&|(\\\\/"\'])(?:nc|ncat|netcat)\\s+(?:-[A-Za-z]*[lL][A-Za-z]*\\d*|--listen)\\s') OR ((ImageFileName rlike '(?iu)(\\\\nc\\.exe|\\\\nc64\\.exe|\\\\ncat\\.exe|\\\\netcat\\.exe|/nc|/ncat|/netcat|/nc\\.traditional|/nc\\.openbsd)$') AND CommandLine rlike '(?:^|\\s)(?:-[A-Za-z]*[ec]|--(?:sh-|lua-)?exec)[\\s=]+["\']?(?:\\S*[\\\\/])?(?:nc|nc64|ncat|netcat|socat)(?:\\.exe)?\\s')) THEN 1 ELSE 0 END AS rule_8,
    CASE WHEN (event_simpleName IN ('ProcessRollup2', 'SyntheticProcessRollup2')) AND ((ImageFileName rlike '(?iu)(\\\\nc\\.exe|\\\\nc64\\.exe|\\\\ncat\\.exe|\\\\netcat\\.exe|/nc|/ncat|/netcat|/nc\\.traditional|/nc\\.openbsd)$') AND CommandLine rlike '(?:^|\\s)(?:-[A-Za-z]*[lL][A-Za-z]*\\d*|--listen)(?:\\s|$)' AND CommandLine rlike '(?:^|\\s)(?:-[A-Za-z]*[ec]|--(?:sh-|lua-)?exec)(?:[\\s=]|$)') THEN 1 ELSE 0 END AS rule_9,
    CASE WHEN (event_simpleName IN ('ProcessRollup2', 'SyntheticProcessRollup2')) AND (CommandLine rlike '(?:^|\\s)-server=\\S+:\\d{1,5}\\s(?:.*\\s)?-vkey=\\S' OR CommandLine rlike '(?iu)(?:^|\\s)-config=["\']?(?:\\S*[\\\\/])?npc[\\w.-]*\\.conf') THEN 1 ELSE 0 END AS rule_10,
    CASE WHEN (event_simpleName IN ('ProcessRollup2', 'SyntheticProcessRollup2')) AND (((CommandLine rlike '(?iu)(?:^|[\\s"\'])(?:listen|connect)(?:p|po|por|port|a|ad|add|addr|addre|addres|address)=\\S' OR CommandLine rlike '(?iu)(?:^|[\\s"\'])v[46]tov[46](?:["\'\\s]|$)') OR CommandLine rlike '(?:^|[\\s"\'=,])(?:\\d{1,3}\\.){3}\\d{1,3}:\\d{1,5}:(?:\\d{1,3}\\.){3}\\d{1,3}:\\d{1,5}(?:["\'\\s,]|$)') AND (NOT COALESCE((CommandLine rlike '(?iu)(?:^|[\\s"\'])(?:i|in|int|inte|inter|interf|interfa|interfac|interface)["\']?\\s+["\']?(?:p|po|por|port|portp|portpr|portpro|portprox|portproxy)["\']?\\s+(?:de|del|dele|delet|delete|r|re|res|rese|reset|sh|sho|show|du|dum|dump)(?:["\'\\s]|$)'), FALSE))) THEN 1 ELSE 0 END AS rule_11,
    CASE WHEN (event_simpleName IN ('ProcessRollup2', 'SyntheticProcessRollup2')) AND (CommandLine rlike '(?iu)\\\\Services\\\\PortProxy\\\\v[46]tov[46]' AND CommandLine rlike '(?iu)(?:^|[\\s"\'(;])(?:reg(?:\\.exe)?["\']?\\s+delete|remove-itemproperty|remove-item|deletevalue|deletesubkey(?:tree)?)(?:[\\s"\'(]|$)') THEN 1 ELSE 0 END AS rule_12,
    CASE WHEN (event_simpleName IN ('ProcessRollup2', 'SyntheticProcessRollup2')) AND (CommandLine rlike '(?iu)\\\\Services\\\\PortProxy\\\\v[46]tov[46]' AND CommandLine rlike '(?iu)(?:^|[\\s"\'(;])(?:reg(?:\\.exe)?["\']?\\s+(?:add|import)|(?:new|set)-itemproperty|new-item|setvalue)(?:[\\s"\'(]|$)') THEN 1 ELSE 0 END AS rule_13,
    CASE WHEN (event_simpleName IN ('RegGenericValueUpdate', 'RegSystemConfigValueUpdate', 'AsepValueUpdate') AND event_platform = 'Win') AND (TargetObject rlike '(?iu).*(\\\\Services\\\\PortProxy\\\\v4tov4\\\\|\\\\Services\\\\PortProxy\\\\v4tov6\\\\|\\\\Services\\\\PortProxy\\\\v6tov4\\\\|\\\\Services\\\\PortProxy\\\\v6tov6\\\\).*') THEN 1 ELSE 0 END AS rule_14,
    CASE WHEN (event_simpleName IN ('ProcessRollup2', 'SyntheticProcessRollup2')) AND (((ImageFileName rlike '(?iu)(\\\\htran\\.exe|/htran|\\\\lcx\\.exe|/lcx|\\\\natbypass\\.exe|/natbypass|\\\\zxportmap\\.exe|\\\\zxproxy\\.exe|\\\\ew\\.exe|/ew|\\\\chisel\\.exe|/chisel|\\\\sharpchisel\\.exe|\\\\ligolo\\.exe|/ligolo|\\\\ligolo\\-ng\\.exe|/ligolo\\-ng|\\\\frpc\\.exe|/frpc|\\\\frps\\.exe|/frps|\\\\gost\\.exe|/gost|\\\\iox\\.exe|/iox|\\\\revsocks\\.exe|/revsocks|\\\\venom\\.exe|/venom|/pivotnacci|\\\\rpivot\\.exe|/rpivot|\\\\3proxy\\.exe|/3proxy|\\\\npc\\.exe|/npc|\\\\nps\\.exe|/nps|\\\\stowaway_admin\\.exe|\\\\stowaway_agent\\.exe|/stowaway_admin|/stowaway_agent|\\\\socat\\.exe|/socat|/microsocks|\\\\rsocx\\.exe|/rsocx|\\\\ssf\\.exe|\\\\ssfd\\.exe|/ssfd)$') OR ImageFileName rlike '(?iu)[\\\\/](?:chisel|gost|revsocks|frpc|frps|iox|ew_for|ligolo(?:-ng)?|rsocx|3proxy)[_-][0-9a-z_.-]*?(?:\\.exe)?$' OR ImageFileName rlike '(?iu)[\\\\/](?:(?:windows|linux|macos|darwin|freebsd|arm|mips|mipsel)_(?:x86|x64|x86_64|amd64|arm64|armv\\d|\\d+)_(?:admin|agent)|(?:admin|agent)_(?:linux|macos|windows|arm|mipsel|mips)_(?:x86|x64|eabi\\d|version\\d))(?:\\.exe)?$') OR CommandLine rlike '(?iu)(?:^|[\\s\\\\/"\'=])(?:htran|chisel|sharpchisel|ligolo-ng|frpc|frps|revsocks|pivotnacci|rpivot|earthworm|zxportmap|zxproxy|3proxy|stowaway_admin|stowaway_agent)(?:\\.exe|\\.py)?(?:["\'\\s]|$)') THEN 1 ELSE 0 END AS rule_15,
    CASE WHEN (event_simpleName IN ('ProcessRollup2', 'SyntheticProcessRollup2')) AND (CommandLine rlike '(?:^|\\s)-listen\\s+\\S*:\\d{1,5}\\s(?:.*\\s)?-socks\\s+\\S*:?\\d{1,5}(?:\\s|$)' OR CommandLine rlike '(?:^|\\s)-connect\\s+\\S+:\\d{1,5}\\s(?:.*\\s)?-pass\\s') THEN 1 ELSE 0 END AS rule_16,
    CASE WHEN (event_simpleName IN ('ProcessRollup2', 'SyntheticProcessRollup2')) AND (CommandLine rlike '(?:^|\\s)--server-ip[\\s=]\\S+\\s(?:.*\\s)?--server-port[\\s=]\\d{1,5}|(?:^|\\s)--server-port[\\s=]\\d{1,5}\\s(?:.*\\s)?--server-ip[\\s=]\\S+' OR CommandLine rlike '(?:^|\\s)--server-port[\\s=]\\d{1,5}\\s(?:.*\\s)?--proxy-port[\\s=]\\d{1,5}' OR CommandLine rlike '(?:^|\\s)--ntlm-proxy-ip[\\s=]\\S') THEN 1 ELSE 0 END AS rule_17,
    CASE WHEN (event_simpleName IN ('ProcessRollup2', 'SyntheticProcessRollup2')) AND ((ImageFileName rlike '(?iu)(\\\\socat\\.exe|/socat|/socat1|/socat2)$') AND (CommandLine rlike '(?iu)(?:^|\\s)["\']?(?:tcp|udp|sctp|openssl|ssl|socks|proxy|vsock)[\\w-]*:\\S+\\s+(?:-\\S+\\s+)*["\']?(?:tcp|udp|sctp|openssl|ssl|socks|proxy|vsock)[\\w-]*:' OR CommandLine rlike '(?iu)(?:^|\\s)["\']?(?:tcp|udp|sctp|openssl|ssl)[46]?-l(?:isten)?:\\S+\\s+["\']?(?:exec|system):')) THEN 1 ELSE 0 END AS rule_18,
    CASE WHEN (event_simpleName IN ('ProcessRollup2', 'SyntheticProcessRollup2')) AND ((ImageFileName rlike '(?iu)(\\\\ssh\\.exe|/ssh|/autossh|/dbclient)$') AND CommandLine rlike '(?:^|\\s)-[46AaCfGgKkMNnqsTtVvXxYy]*o\\s*["\']?(?i:proxycommand)(?:\\s*=\\s*|\\s+)["\']?(?:\\S*[\\\\/])?(?:nc|ncat|netcat|socat|nc\\.openbsd|nc\\.traditional)(?:\\.exe)?\\s') THEN 1 ELSE 0 END AS rule_19,
    CASE WHEN (event_simpleName IN ('ProcessRollup2', 'SyntheticProcessRollup2')) AND (CommandLine rlike '(?:^|\\s)-(?:ssh|pw|batch|hostkey|noagent|load)(?:\\s|$)' AND CommandLine rlike '(?:^|\\s)-[46AaCNTtVvXx]*(?:[LR]\\s*["\']?(?:\\S*:)?\\d{1,5}(?::|["\']?(?:\\s|$))|D\\s*["\']?(?:\\S*:)?\\d{1,5}["\']?(?:\\s|$))') THEN 1 ELSE 0 END AS rule_20,
    CASE WHEN (event_simpleName IN ('ProcessRollup2', 'SyntheticProcessRollup2')) AND (CommandLine rlike '(?:^|\\s)--socks5-proxy[up]?\\s' OR CommandLine rlike '(?:^|\\s)--rehost\\s+\\S+\\s(?:.*\\s)?--report\\s+\\d{1,5}' OR CommandLine rlike '(?:^|\\s)-c\\s+\\S+:\\d{1,5}\\s(?:.*\\s)?-s\\s+\\S+\\s(?:.*\\s)?--reconnect\\s+\\d') THEN 1 ELSE 0 END AS rule_21,
    CASE WHEN (event_simpleName IN ('ProcessRollup2', 'SyntheticProcessRollup2')) AND (CommandLine rlike '(?:^|\\s)-rhost\\s+\\S+\\s+-rport\\s+\\d{1,5}(?:\\s|$)') THEN 1 ELSE 0 END AS rule_22
  FROM events
),
indicators AS (
  SELECT *,
    rule_15 AS is_proxy_tool,
    0 AS is_netsh_proxy,
    rule_20 AS is_ssh_tunnel,
    rule_11 AS is_portfwd,
    GREATEST(rule_1, rule_2, rule_3, rule_4, rule_5, rule_6, rule_7, rule_10, rule_16, rule_17, rule_21, rule_22) AS is_tool_signature,
    GREATEST(rule_8, rule_9, rule_18) AS is_netcat_relay,
    GREATEST(rule_13, rule_14) AS is_portproxy_registry,
    0 AS is_cs_pipe,
    rule_19 AS is_ssh_proxy_command,
    0 AS is_netsh_proxy_removal,
    rule_12 AS is_portproxy_registry_removal
  FROM flagged
),
scored AS (
  SELECT *, 1 * is_proxy_tool + 1 * is_netsh_proxy + 1 * is_ssh_tunnel + 1 * is_portfwd + 1 * is_tool_signature + 1 * is_netcat_relay + 1 * is_portproxy_registry + 1 * is_cs_pipe + 1 * is_ssh_proxy_command + 1 * is_netsh_proxy_removal + 1 * is_portproxy_registry_removal AS suspicion_score
  FROM indicators
)
SELECT
  COALESCE(timestamp_millis(TRY_CAST(`timestamp` AS BIGINT)), TRY_CAST(`timestamp` AS TIMESTAMP)) AS _timeutc,
  ComputerName AS ComputerName,
  UserName AS UserName,
  ImageFileName AS ImageFileName,
  CommandLine AS CommandLine,
  ParentBaseFileName AS ParentBaseFileName,
  CASE WHEN is_proxy_tool = 1 THEN 'KnownProxyTool' WHEN is_netsh_proxy = 1 THEN 'NetshPortProxy' WHEN is_ssh_tunnel = 1 THEN 'SSHTunneling' WHEN is_portfwd = 1 THEN 'PortForwardCommand' WHEN is_tool_signature = 1 THEN 'ProxyToolArguments' WHEN is_netcat_relay = 1 THEN 'NetcatRelay' WHEN is_portproxy_registry = 1 THEN 'PortProxyRegistry' WHEN is_cs_pipe = 1 THEN 'CobaltStrikePipe' WHEN is_ssh_proxy_command = 1 THEN 'SSHProxyCommand' WHEN is_netsh_proxy_removal = 1 THEN 'NetshPortProxyRemoval' WHEN is_portproxy_registry_removal = 1 THEN 'PortProxyRegistryRemoval' ELSE 'Unknown' END AS detection_type,
  suspicion_score AS suspicion_score,
  CASE WHEN GREATEST(rule_1, rule_2, rule_3, rule_4, rule_5, rule_6, rule_7, rule_8, rule_9, rule_10, rule_13, rule_14, rule_15, rule_16, rule_17, rule_18, rule_20, rule_21, rule_22) = 1 THEN 'high' WHEN rule_11 = 1 THEN 'medium' WHEN GREATEST(rule_12, rule_19) = 1 THEN 'low' ELSE 'medium' END AS severity,
  is_proxy_tool AS is_proxy_tool,
  is_netsh_proxy AS is_netsh_proxy,
  is_ssh_tunnel AS is_ssh_tunnel,
  is_portfwd AS is_portfwd,
  is_tool_signature AS is_tool_signature,
  is_netcat_relay AS is_netcat_relay,
  is_portproxy_registry AS is_portproxy_registry,
  is_cs_pipe AS is_cs_pipe,
  is_ssh_proxy_command AS is_ssh_proxy_command,
  is_netsh_proxy_removal AS is_netsh_proxy_removal,
  is_portproxy_registry_removal AS is_portproxy_registry_removal,
  TargetProcessId AS TargetProcessId,
  ContextProcessId AS ContextProcessId
FROM scored
WHERE suspicion_score > 0
ORDER BY _timeutc DESC
