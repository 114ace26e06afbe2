-- proxyhunt 0.1.0 export: MITRE ATT&CK T1090.001 Internal Proxy
-- target: spark-sql-ecs; profile: seed (packs: seed)
--
-- Assumptions:
--   - table `ecs_events`: ECS documents with nested struct columns (event.code, process.*,
--     registry.path, file.name, host.name, user.name, @timestamp) as Spark reads
--     Winlogbeat/Elastic Agent NDJSON; a struct field a feed lacks must exist as NULL
--   - event.code is the Windows event id: 1/4688 process start, 12/13 registry, 17 pipe created, 3
--     network; registry_add and registry_delete rules both run on event 12
--   - _timeutc = @timestamp cast to TIMESTAMP
-- Field mapping (Sigma field -> this platform):
--   process_creation.Image -> process.executable
--   process_creation.CommandLine -> process.command_line
--   process_creation.OriginalFileName -> process.pe.original_file_name
--   process_creation.ParentImage -> process.parent.executable
--   process_creation.ParentCommandLine -> process.parent.command_line
--   process_creation.User -> user.name
--   process_creation.Computer -> host.name
--   process_creation.ProcessId -> process.pid
--   process_creation.ParentProcessId -> process.parent.pid
--   process_creation.CurrentDirectory -> process.working_directory
--   registry_set.TargetObject -> registry.path
--   registry_set.Image -> process.executable
--   registry_add.TargetObject -> registry.path
--   registry_add.Image -> process.executable
--   registry_delete.TargetObject -> registry.path
--   registry_delete.Image -> process.executable
--   pipe_created.PipeName -> file.name
--   pipe_created.Image -> process.executable
--   network_connection.Image -> process.executable
--   network_connection.SourceIp -> source.ip
--   network_connection.SourcePort -> source.port
--   network_connection.DestinationIp -> destination.ip
--   network_connection.DestinationPort -> destination.port
-- Scoring (same as `proxyhunt scan`):
--   rule_N = 1 when rule N matches; an indicator = 1 when any of its rules matches;
--   suspicion_score = sum of indicator weights; hits need suspicion_score > 0;
--   detection_type = first indicator that fired, in this order: is_proxy_tool=KnownProxyTool,
--     is_netsh_proxy=NetshPortProxy, is_ssh_tunnel=SSHTunneling, is_portfwd=PortForwardCommand;
--   severity = highest Sigma level among the rules that matched.
-- Rules:
--   rule_1: Netsh PortProxy Configuration (reference logic) [is_netsh_proxy, high,
--     process_creation] 0c7a8a52-3f0e-4d0e-9a52-6a1f0e1b0002
--   rule_2: Port Forwarding Command-Line Arguments (reference logic) [is_portfwd, medium,
--     process_creation] 0c7a8a52-3f0e-4d0e-9a52-6a1f0e1b0004
--   rule_3: Known Proxy Tool Execution (reference logic) [is_proxy_tool, high, process_creation]
--     0c7a8a52-3f0e-4d0e-9a52-6a1f0e1b0001
--   rule_4: SSH Tunnelling With Port Forwarding Flags (reference logic) [is_ssh_tunnel, high,
--     process_creation] 0c7a8a52-3f0e-4d0e-9a52-6a1f0e1b0003
-- Not covered by this query: none
WITH events AS (
  SELECT *
  FROM ecs_events
  WHERE (CAST(event.code AS STRING) IN ('1', '4688'))
),
flagged AS (
  SELECT *,
    CASE WHEN (CAST(event.code AS STRING) IN ('1', '4688')) AND (contains(lower(process.executable), lower('netsh.exe')) AND contains(lower(process.command_line), lower('portproxy')) AND process.command_line rlike '(?iu)\\badd\\b') THEN 1 ELSE 0 END AS rule_1,
    CASE WHEN (CAST(event.code AS STRING) IN ('1', '4688')) AND (process.command_line rlike '(?iu).*(v4tov4|listenport=|connectport=|connectaddress=|listenaddress=).*') THEN 1 ELSE 0 END AS rule_2,
    CASE WHEN (CAST(event.code AS STRING) IN ('1', '4688')) AND ((process.executable rlike '(?iu).*(htran|zxproxy|lcx\\.exe|socat|chisel|ligolo|frpc|frps|earthworm|ew\\.exe|gost|iox|revsocks|venom|pivotnacci|rpivot).*') OR (process.command_line rlike '(?iu).*(htran|zxproxy|earthworm|chisel|ligolo|frpc|frps|gost|iox|revsocks|pivotnacci|rpivot).*') OR process.command_line rlike '(?iu)lcx[\\s.]') THEN 1 ELSE 0 END AS rule_3,
    CASE WHEN (CAST(event.code AS STRING) IN ('1', '4688')) AND ((contains(lower(process.executable), lower('ssh.exe')) OR contains(lower(process.executable), lower('plink.exe'))) AND process.command_line rlike '(?iu)(\\s-[lrd]\\s|localforward|remoteforward|gatewayports|allowtcpforwarding|-w \\d)') THEN 1 ELSE 0 END AS rule_4
  FROM events
),
indicators AS (
  SELECT *,
    rule_3 AS is_proxy_tool,
    rule_1 AS is_netsh_proxy,
    rule_4 AS is_ssh_tunnel,
    rule_2 AS is_portfwd
  FROM flagged
),
scored AS (
  SELECT *, 1 * is_proxy_tool + 1 * is_netsh_proxy + 1 * is_ssh_tunnel + 1 * is_portfwd AS suspicion_score
  FROM indicators
)
SELECT
  TRY_CAST(`@timestamp` AS TIMESTAMP) AS _timeutc,
  host.name AS ComputerName,
  user.name AS UserName,
  process.executable AS ImageFileName,
  process.command_line AS CommandLine,
  process.parent.name AS ParentBaseFileName,
  CASE WHEN is_proxy_tool = 1 THEN 'KnownProxyTool' WHEN is_netsh_proxy = 1 THEN 'NetshPortProxy' WHEN is_ssh_tunnel = 1 THEN 'SSHTunneling' WHEN is_portfwd = 1 THEN 'PortForwardCommand' ELSE 'Unknown' END AS detection_type,
  suspicion_score AS suspicion_score,
  CASE WHEN GREATEST(rule_1, rule_3, rule_4) = 1 THEN 'high' WHEN rule_2 = 1 THEN 'medium' ELSE 'medium' END AS severity,
  is_proxy_tool AS is_proxy_tool,
  is_netsh_proxy AS is_netsh_proxy,
  is_ssh_tunnel AS is_ssh_tunnel,
  is_portfwd AS is_portfwd,
  process.pid AS TargetProcessId,
  process.parent.pid AS ContextProcessId
FROM scored
WHERE suspicion_score > 0
ORDER BY _timeutc DESC
