-- proxyhunt 0.1.0 export: MITRE ATT&CK T1090.001 Internal Proxy
-- target: spark-sql; profile: seed (packs: seed)
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
  SELECT *,
    concat_ws('\\', RegObjectName, RegValueName) AS TargetObject
  FROM falcon_events
  WHERE (event_simpleName IN ('ProcessRollup2', 'SyntheticProcessRollup2'))
),
flagged AS (
  SELECT *,
    CASE WHEN (event_simpleName IN ('ProcessRollup2', 'SyntheticProcessRollup2')) AND (contains(lower(ImageFileName), lower('netsh.exe')) AND contains(lower(CommandLine), lower('portproxy')) AND CommandLine rlike '(?iu)\\badd\\b') THEN 1 ELSE 0 END AS rule_1,
    CASE WHEN (event_simpleName IN ('ProcessRollup2', 'SyntheticProcessRollup2')) AND (CommandLine rlike '(?iu).*(v4tov4|listenport=|connectport=|connectaddress=|listenaddress=).*') THEN 1 ELSE 0 END AS rule_2,
    CASE WHEN (event_simpleName IN ('ProcessRollup2', 'SyntheticProcessRollup2')) AND ((ImageFileName rlike '(?iu).*(htran|zxproxy|lcx\\.exe|socat|chisel|ligolo|frpc|frps|earthworm|ew\\.exe|gost|iox|revsocks|venom|pivotnacci|rpivot).*') OR (CommandLine rlike '(?iu).*(htran|zxproxy|earthworm|chisel|ligolo|frpc|frps|gost|iox|revsocks|pivotnacci|rpivot).*') OR CommandLine rlike '(?iu)lcx[\\s.]') THEN 1 ELSE 0 END AS rule_3,
    CASE WHEN (event_simpleName IN ('ProcessRollup2', 'SyntheticProcessRollup2')) AND ((contains(lower(ImageFileName), lower('ssh.exe')) OR contains(lower(ImageFileName), lower('plink.exe'))) AND CommandLine rlike '(?iu)(\\s-[lrd]\\s|localforward|remoteforward|gatewayports|allowtcpforwarding|-w \\d)') THEN 1 ELSE 0 END AS rule_4
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
  COALESCE(timestamp_millis(TRY_CAST(`timestamp` AS BIGINT)), TRY_CAST(`timestamp` AS TIMESTAMP)) AS _timeutc,
  ComputerName AS ComputerName,
  UserName AS UserName,
  ImageFileName AS ImageFileName,
  CommandLine AS CommandLine,
  ParentBaseFileName AS ParentBaseFileName,
  CASE WHEN is_proxy_tool = 1 THEN 'KnownProxyTool' WHEN is_netsh_proxy = 1 THEN 'NetshPortProxy' WHEN is_ssh_tunnel = 1 THEN 'SSHTunneling' WHEN is_portfwd = 1 THEN 'PortForwardCommand' ELSE 'Unknown' END AS detection_type,
  suspicion_score AS suspicion_score,
  CASE WHEN GREATEST(rule_1, rule_3, rule_4) = 1 THEN 'high' WHEN rule_2 = 1 THEN 'medium' ELSE 'medium' END AS severity,
  is_proxy_tool AS is_proxy_tool,
  is_netsh_proxy AS is_netsh_proxy,
  is_ssh_tunnel AS is_ssh_tunnel,
  is_portfwd AS is_portfwd,
  TargetProcessId AS TargetProcessId,
  ContextProcessId AS ContextProcessId
FROM scored
WHERE suspicion_score > 0
ORDER BY _timeutc DESC
