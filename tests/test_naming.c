/*
 * test_naming.c: keys of both layouts, byte for byte. Golden keys are written
 * out literally (the five stations the browser viewer has active plus two with
 * a location code); round trips cover every span, location kind, rate and the
 * calendar edges; rejections check that the message names the bad part and
 * quotes the key. Epoch constants come from Python's calendar.timegm.
 */
#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "r2cache/naming.h"

#define M 60
#define H 3600
#define DAY 86400
#define T1104 1762214400LL     /* 2025-11-04T00:00:00Z */
#define T1105 1762300800LL     /* 2025-11-05T00:00:00Z */
#define T20250201 1738368000LL /* 2025-02-01T00:00:00Z */
#define T20240229 1709164800LL /* 2024-02-29T00:00:00Z */
#define T20240301 1709251200LL /* 2024-03-01T00:00:00Z */
#define T20251231 1767139200LL /* 2025-12-31T00:00:00Z */
#define T20260101 1767225600LL /* 2026-01-01T00:00:00Z */

static rc_chan chan(const char *s)
{
    rc_chan c;
    rc_err e = {0};
    cr_assert_eq(rc_chan_parse(s, &c, &e), RC_OK, "%s: %s", s, e.msg);
    return c;
}

/* ---- golden keys ---- */

typedef struct golden {
    const char *chan;
    const char *volcano;
    double rate;
    int span; /* -1: manifest of the day starting at start */
    int64_t start;
    const char *seed;
    const char *viewer;
} golden;

static const golden goldens[] = {
    {"HV.OBL..HHZ", "kilauea", 100, RC_SPAN_10M, T1104 + 23 * H + 50 * M,
     "data/2025/11/HV/kilauea/OBL//HHZ/"
     "HV_OBL__HHZ_100Hz_2025-11-04-23-50-00_to_2025-11-05-00-00-00.bin.zst",
     "data/2025/11/04/HV/kilauea/OBL/--/HHZ/10m/"
     "HV_OBL_--_HHZ_10m_2025-11-04-23-50-00_to_2025-11-05-00-00-00.bin.zst"},
    {"HV.OBL..HHZ", "kilauea", 100, RC_SPAN_1H, T1104 + 23 * H,
     "data/2025/11/HV/kilauea/OBL//HHZ/"
     "HV_OBL__HHZ_100Hz_2025-11-04-23-00-00_to_2025-11-05-00-00-00.bin.zst",
     "data/2025/11/04/HV/kilauea/OBL/--/HHZ/1h/"
     "HV_OBL_--_HHZ_1h_2025-11-04-23-00-00_to_2025-11-05-00-00-00.bin.zst"},
    {"HV.OBL..HHZ", "kilauea", 100, RC_SPAN_6H, T1104 + 18 * H,
     "data/2025/11/HV/kilauea/OBL//HHZ/"
     "HV_OBL__HHZ_100Hz_2025-11-04-18-00-00_to_2025-11-05-00-00-00.bin.zst",
     "data/2025/11/04/HV/kilauea/OBL/--/HHZ/6h/"
     "HV_OBL_--_HHZ_6h_2025-11-04-18-00-00_to_2025-11-05-00-00-00.bin.zst"},
    {"HV.OBL..HHZ", "kilauea", 100, RC_SPAN_10M, T1105,
     "data/2025/11/HV/kilauea/OBL//HHZ/"
     "HV_OBL__HHZ_100Hz_2025-11-05-00-00-00_to_2025-11-05-00-10-00.bin.zst",
     "data/2025/11/05/HV/kilauea/OBL/--/HHZ/10m/"
     "HV_OBL_--_HHZ_10m_2025-11-05-00-00-00_to_2025-11-05-00-10-00.bin.zst"},
    {"HV.OBL..HHZ", "kilauea", 100, -1, T1104,
     "data/2025/11/HV/kilauea/OBL//HHZ/HV_OBL__HHZ_100Hz_2025-11-04.json",
     "data/2025/11/04/HV/kilauea/OBL/--/HHZ/HV_OBL_--_HHZ_2025-11-04.json"},
    {"HV.OBL..HHZ", "kilauea", 100, -1, T1105,
     "data/2025/11/HV/kilauea/OBL//HHZ/HV_OBL__HHZ_100Hz_2025-11-05.json",
     "data/2025/11/05/HV/kilauea/OBL/--/HHZ/HV_OBL_--_HHZ_2025-11-05.json"},
    {"HV.MOKD..HHZ", "maunaloa", 100, RC_SPAN_10M, T1104 + 23 * H + 50 * M,
     "data/2025/11/HV/maunaloa/MOKD//HHZ/"
     "HV_MOKD__HHZ_100Hz_2025-11-04-23-50-00_to_2025-11-05-00-00-00.bin.zst",
     "data/2025/11/04/HV/maunaloa/MOKD/--/HHZ/10m/"
     "HV_MOKD_--_HHZ_10m_2025-11-04-23-50-00_to_2025-11-05-00-00-00.bin.zst"},
    {"HV.MOKD..HHZ", "maunaloa", 100, RC_SPAN_1H, T1104 + 23 * H,
     "data/2025/11/HV/maunaloa/MOKD//HHZ/"
     "HV_MOKD__HHZ_100Hz_2025-11-04-23-00-00_to_2025-11-05-00-00-00.bin.zst",
     "data/2025/11/04/HV/maunaloa/MOKD/--/HHZ/1h/"
     "HV_MOKD_--_HHZ_1h_2025-11-04-23-00-00_to_2025-11-05-00-00-00.bin.zst"},
    {"HV.MOKD..HHZ", "maunaloa", 100, RC_SPAN_6H, T1104 + 18 * H,
     "data/2025/11/HV/maunaloa/MOKD//HHZ/"
     "HV_MOKD__HHZ_100Hz_2025-11-04-18-00-00_to_2025-11-05-00-00-00.bin.zst",
     "data/2025/11/04/HV/maunaloa/MOKD/--/HHZ/6h/"
     "HV_MOKD_--_HHZ_6h_2025-11-04-18-00-00_to_2025-11-05-00-00-00.bin.zst"},
    {"HV.MOKD..HHZ", "maunaloa", 100, RC_SPAN_10M, T1105,
     "data/2025/11/HV/maunaloa/MOKD//HHZ/"
     "HV_MOKD__HHZ_100Hz_2025-11-05-00-00-00_to_2025-11-05-00-10-00.bin.zst",
     "data/2025/11/05/HV/maunaloa/MOKD/--/HHZ/10m/"
     "HV_MOKD_--_HHZ_10m_2025-11-05-00-00-00_to_2025-11-05-00-10-00.bin.zst"},
    {"HV.MOKD..HHZ", "maunaloa", 100, -1, T1104,
     "data/2025/11/HV/maunaloa/MOKD//HHZ/HV_MOKD__HHZ_100Hz_2025-11-04.json",
     "data/2025/11/04/HV/maunaloa/MOKD/--/HHZ/HV_MOKD_--_HHZ_2025-11-04.json"},
    {"HV.MOKD..HHZ", "maunaloa", 100, -1, T1105,
     "data/2025/11/HV/maunaloa/MOKD//HHZ/HV_MOKD__HHZ_100Hz_2025-11-05.json",
     "data/2025/11/05/HV/maunaloa/MOKD/--/HHZ/HV_MOKD_--_HHZ_2025-11-05.json"},
    {"AV.GSTD..BHZ", "greatsitkin", 50, RC_SPAN_10M, T1104 + 23 * H + 50 * M,
     "data/2025/11/AV/greatsitkin/GSTD//BHZ/"
     "AV_GSTD__BHZ_50Hz_2025-11-04-23-50-00_to_2025-11-05-00-00-00.bin.zst",
     "data/2025/11/04/AV/greatsitkin/GSTD/--/BHZ/10m/"
     "AV_GSTD_--_BHZ_10m_2025-11-04-23-50-00_to_2025-11-05-00-00-00.bin.zst"},
    {"AV.GSTD..BHZ", "greatsitkin", 50, RC_SPAN_1H, T1104 + 23 * H,
     "data/2025/11/AV/greatsitkin/GSTD//BHZ/"
     "AV_GSTD__BHZ_50Hz_2025-11-04-23-00-00_to_2025-11-05-00-00-00.bin.zst",
     "data/2025/11/04/AV/greatsitkin/GSTD/--/BHZ/1h/"
     "AV_GSTD_--_BHZ_1h_2025-11-04-23-00-00_to_2025-11-05-00-00-00.bin.zst"},
    {"AV.GSTD..BHZ", "greatsitkin", 50, RC_SPAN_6H, T1104 + 18 * H,
     "data/2025/11/AV/greatsitkin/GSTD//BHZ/"
     "AV_GSTD__BHZ_50Hz_2025-11-04-18-00-00_to_2025-11-05-00-00-00.bin.zst",
     "data/2025/11/04/AV/greatsitkin/GSTD/--/BHZ/6h/"
     "AV_GSTD_--_BHZ_6h_2025-11-04-18-00-00_to_2025-11-05-00-00-00.bin.zst"},
    {"AV.GSTD..BHZ", "greatsitkin", 50, RC_SPAN_10M, T1105,
     "data/2025/11/AV/greatsitkin/GSTD//BHZ/"
     "AV_GSTD__BHZ_50Hz_2025-11-05-00-00-00_to_2025-11-05-00-10-00.bin.zst",
     "data/2025/11/05/AV/greatsitkin/GSTD/--/BHZ/10m/"
     "AV_GSTD_--_BHZ_10m_2025-11-05-00-00-00_to_2025-11-05-00-10-00.bin.zst"},
    {"AV.GSTD..BHZ", "greatsitkin", 50, -1, T1104,
     "data/2025/11/AV/greatsitkin/GSTD//BHZ/AV_GSTD__BHZ_50Hz_2025-11-04.json",
     "data/2025/11/04/AV/greatsitkin/GSTD/--/BHZ/AV_GSTD_--_BHZ_2025-11-04.json"},
    {"AV.GSTD..BHZ", "greatsitkin", 50, -1, T1105,
     "data/2025/11/AV/greatsitkin/GSTD//BHZ/AV_GSTD__BHZ_50Hz_2025-11-05.json",
     "data/2025/11/05/AV/greatsitkin/GSTD/--/BHZ/AV_GSTD_--_BHZ_2025-11-05.json"},
    {"AV.SSLS..BHZ", "shishaldin", 50, RC_SPAN_10M, T1104 + 23 * H + 50 * M,
     "data/2025/11/AV/shishaldin/SSLS//BHZ/"
     "AV_SSLS__BHZ_50Hz_2025-11-04-23-50-00_to_2025-11-05-00-00-00.bin.zst",
     "data/2025/11/04/AV/shishaldin/SSLS/--/BHZ/10m/"
     "AV_SSLS_--_BHZ_10m_2025-11-04-23-50-00_to_2025-11-05-00-00-00.bin.zst"},
    {"AV.SSLS..BHZ", "shishaldin", 50, RC_SPAN_1H, T1104 + 23 * H,
     "data/2025/11/AV/shishaldin/SSLS//BHZ/"
     "AV_SSLS__BHZ_50Hz_2025-11-04-23-00-00_to_2025-11-05-00-00-00.bin.zst",
     "data/2025/11/04/AV/shishaldin/SSLS/--/BHZ/1h/"
     "AV_SSLS_--_BHZ_1h_2025-11-04-23-00-00_to_2025-11-05-00-00-00.bin.zst"},
    {"AV.SSLS..BHZ", "shishaldin", 50, RC_SPAN_6H, T1104 + 18 * H,
     "data/2025/11/AV/shishaldin/SSLS//BHZ/"
     "AV_SSLS__BHZ_50Hz_2025-11-04-18-00-00_to_2025-11-05-00-00-00.bin.zst",
     "data/2025/11/04/AV/shishaldin/SSLS/--/BHZ/6h/"
     "AV_SSLS_--_BHZ_6h_2025-11-04-18-00-00_to_2025-11-05-00-00-00.bin.zst"},
    {"AV.SSLS..BHZ", "shishaldin", 50, RC_SPAN_10M, T1105,
     "data/2025/11/AV/shishaldin/SSLS//BHZ/"
     "AV_SSLS__BHZ_50Hz_2025-11-05-00-00-00_to_2025-11-05-00-10-00.bin.zst",
     "data/2025/11/05/AV/shishaldin/SSLS/--/BHZ/10m/"
     "AV_SSLS_--_BHZ_10m_2025-11-05-00-00-00_to_2025-11-05-00-10-00.bin.zst"},
    {"AV.SSLS..BHZ", "shishaldin", 50, -1, T1104,
     "data/2025/11/AV/shishaldin/SSLS//BHZ/AV_SSLS__BHZ_50Hz_2025-11-04.json",
     "data/2025/11/04/AV/shishaldin/SSLS/--/BHZ/AV_SSLS_--_BHZ_2025-11-04.json"},
    {"AV.SSLS..BHZ", "shishaldin", 50, -1, T1105,
     "data/2025/11/AV/shishaldin/SSLS//BHZ/AV_SSLS__BHZ_50Hz_2025-11-05.json",
     "data/2025/11/05/AV/shishaldin/SSLS/--/BHZ/AV_SSLS_--_BHZ_2025-11-05.json"},
    {"AV.SPCP..BHZ", "spurr", 50, RC_SPAN_10M, T1104 + 23 * H + 50 * M,
     "data/2025/11/AV/spurr/SPCP//BHZ/"
     "AV_SPCP__BHZ_50Hz_2025-11-04-23-50-00_to_2025-11-05-00-00-00.bin.zst",
     "data/2025/11/04/AV/spurr/SPCP/--/BHZ/10m/"
     "AV_SPCP_--_BHZ_10m_2025-11-04-23-50-00_to_2025-11-05-00-00-00.bin.zst"},
    {"AV.SPCP..BHZ", "spurr", 50, RC_SPAN_1H, T1104 + 23 * H,
     "data/2025/11/AV/spurr/SPCP//BHZ/"
     "AV_SPCP__BHZ_50Hz_2025-11-04-23-00-00_to_2025-11-05-00-00-00.bin.zst",
     "data/2025/11/04/AV/spurr/SPCP/--/BHZ/1h/"
     "AV_SPCP_--_BHZ_1h_2025-11-04-23-00-00_to_2025-11-05-00-00-00.bin.zst"},
    {"AV.SPCP..BHZ", "spurr", 50, RC_SPAN_6H, T1104 + 18 * H,
     "data/2025/11/AV/spurr/SPCP//BHZ/"
     "AV_SPCP__BHZ_50Hz_2025-11-04-18-00-00_to_2025-11-05-00-00-00.bin.zst",
     "data/2025/11/04/AV/spurr/SPCP/--/BHZ/6h/"
     "AV_SPCP_--_BHZ_6h_2025-11-04-18-00-00_to_2025-11-05-00-00-00.bin.zst"},
    {"AV.SPCP..BHZ", "spurr", 50, RC_SPAN_10M, T1105,
     "data/2025/11/AV/spurr/SPCP//BHZ/"
     "AV_SPCP__BHZ_50Hz_2025-11-05-00-00-00_to_2025-11-05-00-10-00.bin.zst",
     "data/2025/11/05/AV/spurr/SPCP/--/BHZ/10m/"
     "AV_SPCP_--_BHZ_10m_2025-11-05-00-00-00_to_2025-11-05-00-10-00.bin.zst"},
    {"AV.SPCP..BHZ", "spurr", 50, -1, T1104,
     "data/2025/11/AV/spurr/SPCP//BHZ/AV_SPCP__BHZ_50Hz_2025-11-04.json",
     "data/2025/11/04/AV/spurr/SPCP/--/BHZ/AV_SPCP_--_BHZ_2025-11-04.json"},
    {"AV.SPCP..BHZ", "spurr", 50, -1, T1105,
     "data/2025/11/AV/spurr/SPCP//BHZ/AV_SPCP__BHZ_50Hz_2025-11-05.json",
     "data/2025/11/05/AV/spurr/SPCP/--/BHZ/AV_SPCP_--_BHZ_2025-11-05.json"},
    {"AV.N20K.EP.BDF", "spurr", 40, RC_SPAN_10M, T1104 + 23 * H + 50 * M,
     "data/2025/11/AV/spurr/N20K/EP/BDF/"
     "AV_N20K_EP_BDF_40Hz_2025-11-04-23-50-00_to_2025-11-05-00-00-00.bin.zst",
     "data/2025/11/04/AV/spurr/N20K/EP/BDF/10m/"
     "AV_N20K_EP_BDF_10m_2025-11-04-23-50-00_to_2025-11-05-00-00-00.bin.zst"},
    {"AV.N20K.EP.BDF", "spurr", 40, RC_SPAN_1H, T1104 + 23 * H,
     "data/2025/11/AV/spurr/N20K/EP/BDF/"
     "AV_N20K_EP_BDF_40Hz_2025-11-04-23-00-00_to_2025-11-05-00-00-00.bin.zst",
     "data/2025/11/04/AV/spurr/N20K/EP/BDF/1h/"
     "AV_N20K_EP_BDF_1h_2025-11-04-23-00-00_to_2025-11-05-00-00-00.bin.zst"},
    {"AV.N20K.EP.BDF", "spurr", 40, RC_SPAN_6H, T1104 + 18 * H,
     "data/2025/11/AV/spurr/N20K/EP/BDF/"
     "AV_N20K_EP_BDF_40Hz_2025-11-04-18-00-00_to_2025-11-05-00-00-00.bin.zst",
     "data/2025/11/04/AV/spurr/N20K/EP/BDF/6h/"
     "AV_N20K_EP_BDF_6h_2025-11-04-18-00-00_to_2025-11-05-00-00-00.bin.zst"},
    {"AV.N20K.EP.BDF", "spurr", 40, RC_SPAN_10M, T1105,
     "data/2025/11/AV/spurr/N20K/EP/BDF/"
     "AV_N20K_EP_BDF_40Hz_2025-11-05-00-00-00_to_2025-11-05-00-10-00.bin.zst",
     "data/2025/11/05/AV/spurr/N20K/EP/BDF/10m/"
     "AV_N20K_EP_BDF_10m_2025-11-05-00-00-00_to_2025-11-05-00-10-00.bin.zst"},
    {"AV.N20K.EP.BDF", "spurr", 40, -1, T1104,
     "data/2025/11/AV/spurr/N20K/EP/BDF/AV_N20K_EP_BDF_40Hz_2025-11-04.json",
     "data/2025/11/04/AV/spurr/N20K/EP/BDF/AV_N20K_EP_BDF_2025-11-04.json"},
    {"AV.N20K.EP.BDF", "spurr", 40, -1, T1105,
     "data/2025/11/AV/spurr/N20K/EP/BDF/AV_N20K_EP_BDF_40Hz_2025-11-05.json",
     "data/2025/11/05/AV/spurr/N20K/EP/BDF/AV_N20K_EP_BDF_2025-11-05.json"},
    {"HV.UWE.QC.EHZ", "kilauea", 100, RC_SPAN_10M, T1104 + 23 * H + 50 * M,
     "data/2025/11/HV/kilauea/UWE/QC/EHZ/"
     "HV_UWE_QC_EHZ_100Hz_2025-11-04-23-50-00_to_2025-11-05-00-00-00.bin.zst",
     "data/2025/11/04/HV/kilauea/UWE/QC/EHZ/10m/"
     "HV_UWE_QC_EHZ_10m_2025-11-04-23-50-00_to_2025-11-05-00-00-00.bin.zst"},
    {"HV.UWE.QC.EHZ", "kilauea", 100, RC_SPAN_1H, T1104 + 23 * H,
     "data/2025/11/HV/kilauea/UWE/QC/EHZ/"
     "HV_UWE_QC_EHZ_100Hz_2025-11-04-23-00-00_to_2025-11-05-00-00-00.bin.zst",
     "data/2025/11/04/HV/kilauea/UWE/QC/EHZ/1h/"
     "HV_UWE_QC_EHZ_1h_2025-11-04-23-00-00_to_2025-11-05-00-00-00.bin.zst"},
    {"HV.UWE.QC.EHZ", "kilauea", 100, RC_SPAN_6H, T1104 + 18 * H,
     "data/2025/11/HV/kilauea/UWE/QC/EHZ/"
     "HV_UWE_QC_EHZ_100Hz_2025-11-04-18-00-00_to_2025-11-05-00-00-00.bin.zst",
     "data/2025/11/04/HV/kilauea/UWE/QC/EHZ/6h/"
     "HV_UWE_QC_EHZ_6h_2025-11-04-18-00-00_to_2025-11-05-00-00-00.bin.zst"},
    {"HV.UWE.QC.EHZ", "kilauea", 100, RC_SPAN_10M, T1105,
     "data/2025/11/HV/kilauea/UWE/QC/EHZ/"
     "HV_UWE_QC_EHZ_100Hz_2025-11-05-00-00-00_to_2025-11-05-00-10-00.bin.zst",
     "data/2025/11/05/HV/kilauea/UWE/QC/EHZ/10m/"
     "HV_UWE_QC_EHZ_10m_2025-11-05-00-00-00_to_2025-11-05-00-10-00.bin.zst"},
    {"HV.UWE.QC.EHZ", "kilauea", 100, -1, T1104,
     "data/2025/11/HV/kilauea/UWE/QC/EHZ/HV_UWE_QC_EHZ_100Hz_2025-11-04.json",
     "data/2025/11/04/HV/kilauea/UWE/QC/EHZ/HV_UWE_QC_EHZ_2025-11-04.json"},
    {"HV.UWE.QC.EHZ", "kilauea", 100, -1, T1105,
     "data/2025/11/HV/kilauea/UWE/QC/EHZ/HV_UWE_QC_EHZ_100Hz_2025-11-05.json",
     "data/2025/11/05/HV/kilauea/UWE/QC/EHZ/HV_UWE_QC_EHZ_2025-11-05.json"},
    /* DESIGN.md's example and the 24 h span. */
    {"HV.UWE..HHZ", "kilauea", 100, RC_SPAN_10M, T1104 + 22 * H,
     "data/2025/11/HV/kilauea/UWE//HHZ/"
     "HV_UWE__HHZ_100Hz_2025-11-04-22-00-00_to_2025-11-04-22-10-00.bin.zst",
     "data/2025/11/04/HV/kilauea/UWE/--/HHZ/10m/"
     "HV_UWE_--_HHZ_10m_2025-11-04-22-00-00_to_2025-11-04-22-10-00.bin.zst"},
    {"HV.UWE..HHZ", "kilauea", 100, RC_SPAN_24H, T1104,
     "data/2025/11/HV/kilauea/UWE//HHZ/"
     "HV_UWE__HHZ_100Hz_2025-11-04-00-00-00_to_2025-11-05-00-00-00.bin.zst",
     "data/2025/11/04/HV/kilauea/UWE/--/HHZ/24h/"
     "HV_UWE_--_HHZ_24h_2025-11-04-00-00-00_to_2025-11-05-00-00-00.bin.zst"},
    /* Year end: the 6 h chunk ending 2026-01-01 00:00 stays in 2025/12(/31). */
    {"HV.UWE..HHZ", "kilauea", 100, RC_SPAN_6H, T20251231 + 18 * H,
     "data/2025/12/HV/kilauea/UWE//HHZ/"
     "HV_UWE__HHZ_100Hz_2025-12-31-18-00-00_to_2026-01-01-00-00-00.bin.zst",
     "data/2025/12/31/HV/kilauea/UWE/--/HHZ/6h/"
     "HV_UWE_--_HHZ_6h_2025-12-31-18-00-00_to_2026-01-01-00-00-00.bin.zst"},
    /* Leap day and fractional / tiny rates. */
    {"AV.N20K.EP.BDF", "spurr", 40.96, RC_SPAN_1H, T20240229 + 23 * H,
     "data/2024/02/AV/spurr/N20K/EP/BDF/"
     "AV_N20K_EP_BDF_40.96Hz_2024-02-29-23-00-00_to_2024-03-01-00-00-00.bin.zst",
     "data/2024/02/29/AV/spurr/N20K/EP/BDF/1h/"
     "AV_N20K_EP_BDF_1h_2024-02-29-23-00-00_to_2024-03-01-00-00-00.bin.zst"},
    {"AV.N20K.EP.BDF", "spurr", 0.001, -1, T20240229,
     "data/2024/02/AV/spurr/N20K/EP/BDF/AV_N20K_EP_BDF_0.001Hz_2024-02-29.json",
     "data/2024/02/29/AV/spurr/N20K/EP/BDF/AV_N20K_EP_BDF_2024-02-29.json"},
    {"HV.UWE..LHZ", "kilauea", 0.1, RC_SPAN_6H, T20250201 - 6 * H,
     "data/2025/01/HV/kilauea/UWE//LHZ/"
     "HV_UWE__LHZ_0.1Hz_2025-01-31-18-00-00_to_2025-02-01-00-00-00.bin.zst",
     "data/2025/01/31/HV/kilauea/UWE/--/LHZ/6h/"
     "HV_UWE_--_LHZ_6h_2025-01-31-18-00-00_to_2025-02-01-00-00-00.bin.zst"},
};

Test(golden, both_layouts_build_and_parse)
{
    for (size_t i = 0; i < sizeof goldens / sizeof goldens[0]; i++) {
        const golden *g = &goldens[i];
        for (int l = 0; l < 2; l++) {
            const char *want = l == RC_LAYOUT_VIEWER ? g->viewer : g->seed;
            char key[RC_KEY_MAX];
            rc_err e = {0};
            rc_key_info ki;
            memset(key, 0, sizeof key);
            if (g->span >= 0) {
                rc_chunk_id id = {
                    .chan = chan(g->chan), .rate = g->rate, .span = g->span, .start = g->start};
                snprintf(id.volcano, sizeof id.volcano, "%s", g->volcano);
                cr_assert_eq(rc_key_chunk(l, &id, key, sizeof key, &e), RC_OK, "%s", e.msg);
                cr_assert_str_eq(key, want);
                cr_assert_eq(rc_key_parse(l, want, &ki, &e), RC_OK, "%s", e.msg);
                cr_assert_eq(ki.kind, RC_KEY_CHUNK);
                cr_assert(rc_chan_equal(&ki.chunk.chan, &id.chan));
                cr_assert_str_eq(ki.chunk.volcano, g->volcano);
                cr_assert_eq(ki.chunk.span, (rc_span)g->span);
                cr_assert_eq(ki.chunk.start, g->start);
                cr_assert(ki.chunk.rate == (l == RC_LAYOUT_SEED ? g->rate : 0), "%s", want);
            } else {
                rc_manifest_id id = {.chan = chan(g->chan), .rate = g->rate, .day = g->start};
                snprintf(id.volcano, sizeof id.volcano, "%s", g->volcano);
                cr_assert_eq(rc_key_manifest(l, &id, key, sizeof key, &e), RC_OK, "%s", e.msg);
                cr_assert_str_eq(key, want);
                cr_assert_eq(rc_key_parse(l, want, &ki, &e), RC_OK, "%s", e.msg);
                cr_assert_eq(ki.kind, RC_KEY_MANIFEST);
                cr_assert(rc_chan_equal(&ki.manifest.chan, &id.chan));
                cr_assert_str_eq(ki.manifest.volcano, g->volcano);
                cr_assert_eq(ki.manifest.day, g->start);
                cr_assert(ki.manifest.rate == (l == RC_LAYOUT_SEED ? g->rate : 0), "%s", want);
            }
            /* A key of one layout is never a key of the other. */
            cr_assert_eq(rc_key_parse(!l, want, &ki, &e), RC_EINVAL, "%s", want);
        }
    }
}

Test(golden, channel_day_prefix_holds_the_day)
{
    char p[RC_KEY_MAX];
    rc_err e = {0};
    rc_chan c = chan("HV.OBL..HHZ");
    cr_assert_eq(rc_key_prefix_channel_day(RC_LAYOUT_SEED, &c, "kilauea", T1104, p, sizeof p, &e),
                 RC_OK, "%s", e.msg);
    cr_assert_str_eq(p, "data/2025/11/HV/kilauea/OBL//HHZ/");
    cr_assert_eq(rc_key_prefix_channel_day(RC_LAYOUT_VIEWER, &c, "kilauea", T1104, p, sizeof p, &e),
                 RC_OK, "%s", e.msg);
    cr_assert_str_eq(p, "data/2025/11/04/HV/kilauea/OBL/--/HHZ/");
    /* Every golden key of that channel-day starts with it. */
    for (size_t i = 0; i < 5; i++) {
        cr_assert(strncmp(goldens[i].viewer, p, strlen(p)) == 0 || goldens[i].start >= T1105, "%s",
                  goldens[i].viewer);
        cr_assert(strncmp(goldens[i].seed, "data/2025/11/HV/kilauea/OBL//HHZ/", 33) == 0);
    }
    c = chan("AV.N20K.EP.BDF");
    cr_assert_eq(rc_key_prefix_channel_day(RC_LAYOUT_VIEWER, &c, "spurr", T20240229 + 5 * H, p,
                                           sizeof p, &e),
                 RC_OK);
    cr_assert_str_eq(p, "data/2024/02/29/AV/spurr/N20K/EP/BDF/");
    cr_assert_str_eq(rc_key_root(), "data/");
    cr_assert_eq(rc_key_prefix_channel_day(RC_LAYOUT_SEED, &c, "Spurr", T1104, p, sizeof p, &e),
                 RC_EINVAL);
}

/* ---- round trip over every combination ---- */

static void check_round_trip(rc_layout l, const rc_chunk_id *id)
{
    char key[RC_KEY_MAX];
    rc_err e = {0};
    rc_key_info ki;
    cr_assert_eq(rc_key_chunk(l, id, key, sizeof key, &e), RC_OK, "%s", e.msg);
    cr_assert_eq(rc_key_parse(l, key, &ki, &e), RC_OK, "%s", e.msg);
    cr_assert_eq(ki.kind, RC_KEY_CHUNK, "%s", key);
    cr_assert_str_eq(ki.chunk.chan.net, id->chan.net);
    cr_assert_str_eq(ki.chunk.chan.sta, id->chan.sta);
    cr_assert_str_eq(ki.chunk.chan.loc, id->chan.loc);
    cr_assert_str_eq(ki.chunk.chan.cha, id->chan.cha);
    cr_assert_str_eq(ki.chunk.volcano, id->volcano);
    cr_assert_eq(ki.chunk.span, id->span, "%s", key);
    cr_assert_eq(ki.chunk.start, id->start, "%s", key);
    cr_assert(ki.chunk.rate == (l == RC_LAYOUT_SEED ? id->rate : 0), "%s", key);

    rc_manifest_id mid = {.chan = id->chan, .rate = id->rate, .day = id->start - id->start % DAY};
    memcpy(mid.volcano, id->volcano, sizeof mid.volcano);
    cr_assert_eq(rc_key_manifest(l, &mid, key, sizeof key, &e), RC_OK, "%s", e.msg);
    cr_assert_eq(rc_key_parse(l, key, &ki, &e), RC_OK, "%s", e.msg);
    cr_assert_eq(ki.kind, RC_KEY_MANIFEST, "%s", key);
    cr_assert(rc_chan_equal(&ki.manifest.chan, &mid.chan));
    cr_assert_str_eq(ki.manifest.chan.loc, mid.chan.loc);
    cr_assert_str_eq(ki.manifest.volcano, mid.volcano);
    cr_assert_eq(ki.manifest.day, mid.day, "%s", key);
    cr_assert(ki.manifest.rate == (l == RC_LAYOUT_SEED ? id->rate : 0), "%s", key);
}

Test(round_trip, every_combination)
{
    static const double rates[] = {100, 40.96, 0.1, 50, 20, 1, 0.001, 200};
    static const char *const chans[] = {"HV.UWE..HHZ", "AV.N20K.EP.BDF", "HV.UWE.--.HHZ",
                                        "XX.ABCDEFGH.12345678.ABCDEFGH"};
    /* Edges: first window after and last before midnight, month end, leap day, year end. */
    static const int64_t edges[] = {T1105, T20250201, T20240229, T20240301, T20260101};
    size_t count = 0;
    for (int l = 0; l < 2; l++)
        for (int s = 0; s < RC_SPAN_COUNT; s++)
            for (size_t c = 0; c < sizeof chans / sizeof chans[0]; c++)
                for (size_t r = 0; r < sizeof rates / sizeof rates[0]; r++)
                    for (size_t x = 0; x < sizeof edges / sizeof edges[0]; x++)
                        for (int before = 0; before < 2; before++) {
                            rc_chunk_id id = {
                                .chan = chan(chans[c]), .rate = rates[r], .span = (rc_span)s};
                            snprintf(id.volcano, sizeof id.volcano, "great_sitkin-2");
                            id.start = edges[x] - (before ? rc_span_seconds(s) : 0);
                            check_round_trip((rc_layout)l, &id);
                            count++;
                        }
    cr_assert_eq(count, 2 * 4 * 4 * 8 * 5 * 2);
}

Test(round_trip, edge_keys_literal)
{
    /* Month end: a 10 min chunk 23:50 on Jan 31 ends on Feb 1 but lives in January. */
    rc_chunk_id id = {.chan = chan("AV.SPCP..BHZ"),
                      .volcano = "spurr",
                      .rate = 50,
                      .span = RC_SPAN_10M,
                      .start = T20250201 - 10 * M};
    char key[RC_KEY_MAX];
    rc_err e = {0};
    cr_assert_eq(rc_key_chunk(RC_LAYOUT_SEED, &id, key, sizeof key, &e), RC_OK);
    cr_assert_str_eq(key, "data/2025/01/AV/spurr/SPCP//BHZ/"
                          "AV_SPCP__BHZ_50Hz_2025-01-31-23-50-00_to_2025-02-01-00-00-00.bin.zst");
    cr_assert_eq(rc_key_chunk(RC_LAYOUT_VIEWER, &id, key, sizeof key, &e), RC_OK);
    cr_assert_str_eq(key, "data/2025/01/31/AV/spurr/SPCP/--/BHZ/10m/"
                          "AV_SPCP_--_BHZ_10m_2025-01-31-23-50-00_to_2025-02-01-00-00-00.bin.zst");
    id.start = T20240229;
    id.span = RC_SPAN_24H;
    cr_assert_eq(rc_key_chunk(RC_LAYOUT_SEED, &id, key, sizeof key, &e), RC_OK);
    cr_assert_str_eq(key, "data/2024/02/AV/spurr/SPCP//BHZ/"
                          "AV_SPCP__BHZ_50Hz_2024-02-29-00-00-00_to_2024-03-01-00-00-00.bin.zst");
}

/* ---- build rejections ---- */

Test(build, rejects_bad_ids)
{
    char key[RC_KEY_MAX];
    rc_err e = {0};
    rc_chunk_id id = {.chan = chan("HV.UWE..HHZ"),
                      .volcano = "kilauea",
                      .rate = 100,
                      .span = RC_SPAN_10M,
                      .start = T1104 + 22 * H + 5 * M};
    cr_assert_eq(rc_key_chunk(RC_LAYOUT_SEED, &id, key, sizeof key, &e), RC_EINVAL);
    cr_assert_str_eq(e.msg, "cannot name 10m chunk of HV.UWE..HHZ: start 2025-11-04T22:05:00Z is "
                            "not aligned to the span");
    id.start = T1104 + 21 * H;
    id.span = RC_SPAN_6H;
    cr_assert_eq(rc_key_chunk(RC_LAYOUT_VIEWER, &id, key, sizeof key, &e), RC_EINVAL);
    id.span = RC_SPAN_10M;
    id.rate = 0;
    cr_assert_eq(rc_key_chunk(RC_LAYOUT_SEED, &id, key, sizeof key, &e), RC_EINVAL);
    cr_assert_str_eq(e.msg, "cannot name chunk of HV.UWE..HHZ: sample rate 0 is not a positive "
                            "finite number");
    /* The viewer layout carries no rate, so none is needed. */
    cr_assert_eq(rc_key_chunk(RC_LAYOUT_VIEWER, &id, key, sizeof key, &e), RC_OK, "%s", e.msg);
    id.rate = 100;
    snprintf(id.volcano, sizeof id.volcano, "Kilauea");
    cr_assert_eq(rc_key_chunk(RC_LAYOUT_SEED, &id, key, sizeof key, &e), RC_EINVAL);
    cr_assert(strstr(e.msg, "volcano name 'Kilauea'") != NULL, "%s", e.msg);
    snprintf(id.volcano, sizeof id.volcano, "kilauea");
    snprintf(id.chan.sta, sizeof id.chan.sta, "uwe");
    cr_assert_eq(rc_key_chunk(RC_LAYOUT_SEED, &id, key, sizeof key, &e), RC_EINVAL);
    cr_assert(strstr(e.msg, "station code 'uwe' has lower-case letters") != NULL, "%s", e.msg);
    snprintf(id.chan.sta, sizeof id.chan.sta, "UWE");
    id.span = (rc_span)7;
    cr_assert_eq(rc_key_chunk(RC_LAYOUT_SEED, &id, key, sizeof key, &e), RC_EINVAL);
    id.span = RC_SPAN_10M;
    cr_assert_eq(rc_key_chunk(RC_LAYOUT_SEED, &id, key, 20, &e), RC_EINVAL);
    cr_assert_eq(rc_key_chunk(RC_LAYOUT_SEED, &id, key, sizeof key, &e), RC_OK);

    rc_manifest_id mid = {
        .chan = chan("HV.UWE..HHZ"), .volcano = "kilauea", .rate = 100, .day = T1104 + H};
    cr_assert_eq(rc_key_manifest(RC_LAYOUT_SEED, &mid, key, sizeof key, &e), RC_EINVAL);
    cr_assert_str_eq(e.msg, "cannot name manifest of HV.UWE..HHZ: day 2025-11-04T01:00:00Z is "
                            "not 00:00 UTC");
    mid.day = T1104;
    mid.rate = NAN;
    cr_assert_eq(rc_key_manifest(RC_LAYOUT_SEED, &mid, key, sizeof key, &e), RC_EINVAL);
}

/* ---- parse rejections ---- */

typedef struct bad_key {
    rc_layout layout;
    const char *key;
    const char *part; /* must appear in the message */
} bad_key;

#define SEED_DIR "data/2025/11/HV/kilauea/UWE//HHZ/"
#define VIEW_DIR "data/2025/11/04/HV/kilauea/UWE/--/HHZ/"

static const bad_key bad_keys[] = {
    /* misaligned start */
    {RC_LAYOUT_SEED,
     SEED_DIR "HV_UWE__HHZ_100Hz_2025-11-04-22-05-00_to_2025-11-04-22-15-00.bin.zst",
     "start 2025-11-04-22-05-00 is not aligned to the 10m span"},
    {RC_LAYOUT_VIEWER,
     VIEW_DIR "6h/HV_UWE_--_HHZ_6h_2025-11-04-03-00-00_to_2025-11-04-09-00-00.bin.zst",
     "start 2025-11-04-03-00-00 is not aligned to the 6h span"},
    /* wrong span */
    {RC_LAYOUT_SEED,
     SEED_DIR "HV_UWE__HHZ_100Hz_2025-11-04-22-00-00_to_2025-11-04-22-20-00.bin.zst",
     "end - start is 1200 s, not a chunk span"},
    {RC_LAYOUT_SEED,
     SEED_DIR "HV_UWE__HHZ_100Hz_2025-11-04-22-00-00_to_2025-11-04-22-00-00.bin.zst",
     "end - start is 0 s"},
    {RC_LAYOUT_SEED,
     SEED_DIR "HV_UWE__HHZ_100Hz_2025-11-04-22-10-00_to_2025-11-04-22-00-00.bin.zst",
     "end - start is -600 s"},
    /* date folder mismatch */
    {RC_LAYOUT_SEED,
     "data/2025/10/HV/kilauea/UWE//HHZ/"
     "HV_UWE__HHZ_100Hz_2025-11-04-22-00-00_to_2025-11-04-22-10-00.bin.zst",
     "date folders 2025/10 do not match the start date 2025-11-04"},
    {RC_LAYOUT_SEED, "data/2024/11/HV/kilauea/UWE//HHZ/HV_UWE__HHZ_100Hz_2025-11-04.json",
     "date folders 2024/11 do not match the start date 2025-11-04"},
    {RC_LAYOUT_VIEWER,
     "data/2025/11/05/HV/kilauea/UWE/--/HHZ/6h/"
     "HV_UWE_--_HHZ_6h_2025-11-04-18-00-00_to_2025-11-05-00-00-00.bin.zst",
     "date folders 2025/11/05 do not match the start date 2025-11-04"},
    {RC_LAYOUT_VIEWER, "data/2025/11/4/HV/kilauea/UWE/--/HHZ/HV_UWE_--_HHZ_2025-11-04.json",
     "date folders 2025/11/4 do not match"},
    {RC_LAYOUT_SEED, "data/2025/+11/HV/kilauea/UWE//HHZ/HV_UWE__HHZ_100Hz_2025-11-04.json",
     "date folders"},
    /* folder / file name field mismatch */
    {RC_LAYOUT_SEED,
     "data/2025/11/HV/kilauea/OBL//HHZ/"
     "HV_UWE__HHZ_100Hz_2025-11-04-22-00-00_to_2025-11-04-22-10-00.bin.zst",
     "station folder 'OBL' differs from 'UWE' in the file name"},
    {RC_LAYOUT_SEED,
     "data/2025/11/AV/kilauea/UWE//HHZ/"
     "HV_UWE__HHZ_100Hz_2025-11-04-22-00-00_to_2025-11-04-22-10-00.bin.zst",
     "network folder 'AV' differs from 'HV'"},
    {RC_LAYOUT_SEED,
     "data/2025/11/HV/kilauea/UWE/EP/HHZ/"
     "HV_UWE__HHZ_100Hz_2025-11-04-22-00-00_to_2025-11-04-22-10-00.bin.zst",
     "location folder 'EP' differs from '' in the file name"},
    {RC_LAYOUT_SEED,
     "data/2025/11/HV/kilauea/UWE//EHZ/"
     "HV_UWE__HHZ_100Hz_2025-11-04-22-00-00_to_2025-11-04-22-10-00.bin.zst",
     "channel folder 'EHZ' differs from 'HHZ'"},
    {RC_LAYOUT_VIEWER,
     "data/2025/11/04/HV/kilauea/UWE/--/HHZ/6h/"
     "HV_UWE_--_HHZ_10m_2025-11-04-22-00-00_to_2025-11-04-22-10-00.bin.zst",
     "type folder '6h' differs from '10m' in the file name"},
    /* bad codes */
    {RC_LAYOUT_SEED,
     "data/2025/11/hv/kilauea/UWE//HHZ/"
     "hv_UWE__HHZ_100Hz_2025-11-04-22-00-00_to_2025-11-04-22-10-00.bin.zst",
     "network code 'hv' has lower-case letters"},
    {RC_LAYOUT_SEED,
     "data/2025/11/HV/kilauea/..//HHZ/"
     "HV_..__HHZ_100Hz_2025-11-04-22-00-00_to_2025-11-04-22-10-00.bin.zst",
     "station code '..' has a character other than A-Z and 0-9"},
    {RC_LAYOUT_SEED,
     "data/2025/11/HV/kilauea/UWE/../HHZ/"
     "HV_UWE_.._HHZ_100Hz_2025-11-04-22-00-00_to_2025-11-04-22-10-00.bin.zst",
     "location code '..' has a character other than A-Z and 0-9"},
    {RC_LAYOUT_SEED,
     "data/2025/11/HV/kilauea/U/WE//HHZ/HV_U/"
     "WE__HHZ_100Hz_2025-11-04-22-00-00_to_2025-11-04-22-10-00.bin.zst",
     "parts, expected 9"},
    {RC_LAYOUT_SEED,
     "data/2025/11/HV/kilauea/U_WE//HHZ/"
     "HV_U_WE__HHZ_100Hz_2025-11-04-22-00-00_to_2025-11-04-22-10-00.bin.zst",
     "file name has 9 '_'-separated fields, expected 8"},
    {RC_LAYOUT_SEED,
     "data/2025/11/HV/kilauea/ABCDEFGHI//HHZ/"
     "HV_ABCDEFGHI__HHZ_100Hz_2025-11-04-22-00-00_to_2025-11-04-22-10-00.bin.zst",
     "station field 'ABCDEFGHI' is longer than 8 characters"},
    {RC_LAYOUT_SEED,
     "data/2025/11/HV/Kilauea/UWE//HHZ/"
     "HV_UWE__HHZ_100Hz_2025-11-04-22-00-00_to_2025-11-04-22-10-00.bin.zst",
     "volcano folder: volcano name 'Kilauea'"},
    {RC_LAYOUT_SEED,
     "data/2025/11/HV//UWE//HHZ/"
     "HV_UWE__HHZ_100Hz_2025-11-04-22-00-00_to_2025-11-04-22-10-00.bin.zst",
     "volcano name is empty"},
    /* location spelling per layout */
    {RC_LAYOUT_SEED,
     "data/2025/11/HV/kilauea/UWE/--/HHZ/"
     "HV_UWE_--_HHZ_100Hz_2025-11-04-22-00-00_to_2025-11-04-22-10-00.bin.zst",
     "the seed layout writes an empty location as an empty field"},
    {RC_LAYOUT_VIEWER,
     "data/2025/11/04/HV/kilauea/UWE//HHZ/10m/"
     "HV_UWE__HHZ_10m_2025-11-04-22-00-00_to_2025-11-04-22-10-00.bin.zst",
     "the viewer layout writes an empty location as '--'"},
    /* viewer TYPE */
    {RC_LAYOUT_VIEWER,
     VIEW_DIR "1h/HV_UWE_--_HHZ_1h_2025-11-04-22-00-00_to_2025-11-04-22-10-00.bin.zst",
     "type 1h does not match end - start = 600 s"},
    {RC_LAYOUT_VIEWER,
     VIEW_DIR "10min/HV_UWE_--_HHZ_10min_2025-11-04-22-00-00_to_2025-11-04-22-10-00.bin.zst",
     "type field '10min' is not 10m, 1h, 6h or 24h"},
    {RC_LAYOUT_VIEWER,
     VIEW_DIR "HV_UWE_--_HHZ_10m_2025-11-04-22-00-00_to_2025-11-04-22-10-00.bin.zst",
     "chunk key of the viewer layout has 10 '/'-separated parts, expected 11"},
    {RC_LAYOUT_VIEWER, VIEW_DIR "10m/HV_UWE_--_HHZ_2025-11-04.json",
     "manifest key of the viewer layout has 11 '/'-separated parts, expected 10"},
    /* rates */
    {RC_LAYOUT_SEED, SEED_DIR "HV_UWE__HHZ_0Hz_2025-11-04-22-00-00_to_2025-11-04-22-10-00.bin.zst",
     "rate field: sample rate '0' is not in canonical form"},
    {RC_LAYOUT_SEED, SEED_DIR "HV_UWE__HHZ_100.0Hz_2025-11-04.json",
     "sample rate '100.0' is not in canonical form"},
    {RC_LAYOUT_SEED, SEED_DIR "HV_UWE__HHZ_1e2Hz_2025-11-04.json",
     "sample rate '1e2' is not a plain decimal"},
    {RC_LAYOUT_SEED, SEED_DIR "HV_UWE__HHZ_100_2025-11-04.json",
     "rate field '100' is not <RATE>Hz"},
    {RC_LAYOUT_SEED, SEED_DIR "HV_UWE__HHZ_100hz_2025-11-04.json", "rate field '100hz'"},
    {RC_LAYOUT_SEED, SEED_DIR "HV_UWE__HHZ_Hz_2025-11-04.json", "rate field 'Hz'"},
    /* times */
    {RC_LAYOUT_SEED, SEED_DIR "HV_UWE__HHZ_100Hz_2025-02-30.json",
     "date: '2025-02-30': day 30 does not exist in 2025-02"},
    {RC_LAYOUT_SEED, SEED_DIR "HV_UWE__HHZ_100Hz_2025-11-04-00-00-00.json",
     "'2025-11-04-00-00-00' is not a YYYY-MM-DD date"},
    {RC_LAYOUT_SEED,
     SEED_DIR "HV_UWE__HHZ_100Hz_2025-11-04-24-00-00_to_2025-11-05-00-10-00.bin.zst",
     "start: '2025-11-04-24-00-00': hour 24 is out of range"},
    {RC_LAYOUT_SEED,
     SEED_DIR "HV_UWE__HHZ_100Hz_2025-11-04T22:00:00_to_2025-11-04-22-10-00.bin.zst",
     "is not a YYYY-MM-DD-HH-MM-SS time"},
    {RC_LAYOUT_SEED,
     SEED_DIR "HV_UWE__HHZ_100Hz_2025-11-04-22-00-00_from_2025-11-04-22-10-00.bin.zst",
     "expected '_to_' between start and end"},
    /* suffixes and garbage */
    {RC_LAYOUT_SEED,
     SEED_DIR "HV_UWE__HHZ_100Hz_2025-11-04-22-00-00_to_2025-11-04-22-10-00.bin.zstd",
     "file name does not end in .bin.zst or .json"},
    {RC_LAYOUT_SEED, SEED_DIR "HV_UWE__HHZ_100Hz_2025-11-04-22-00-00_to_2025-11-04-22-10-00.bin",
     "does not end in .bin.zst or .json"},
    {RC_LAYOUT_SEED, SEED_DIR "HV_UWE__HHZ_100Hz_2025-11-04.JSON", "does not end in"},
    {RC_LAYOUT_SEED, SEED_DIR "HV_UWE__HHZ_100Hz_2025-11-04.json/", "does not end in"},
    {RC_LAYOUT_SEED, SEED_DIR ".json", "does not end in"},
    {RC_LAYOUT_SEED, "", "key does not start with 'data/'"},
    {RC_LAYOUT_SEED, "garbage", "key does not start with 'data/'"},
    {RC_LAYOUT_SEED, "/data/2025/11/HV/kilauea/UWE//HHZ/HV_UWE__HHZ_100Hz_2025-11-04.json",
     "does not start with 'data/'"},
    {RC_LAYOUT_SEED, "data/", "does not end in"},
    {RC_LAYOUT_SEED, "data/x.json", "manifest key of the seed layout has 2 '/'-separated parts"},
    {RC_LAYOUT_SEED, "data/2025/11/HV/kilauea/extra/UWE//HHZ/HV_UWE__HHZ_100Hz_2025-11-04.json",
     "has 10 '/'-separated parts, expected 9"},
    {RC_LAYOUT_SEED, "data/2025/11/HV/kilauea/UWE//HHZ/HV_UWE__HHZ_100Hz_2025-11-04.json\n",
     "control or non-ASCII byte at offset 66"},
    {RC_LAYOUT_SEED, "data/a/b/c/d/e/f/g/h/i/j/k/l/m/n/o/p/q.json", "more than 16"},
    {RC_LAYOUT_SEED, "data/2025/11/HV/kilauea/UWE//HHZ/HV_UWE__HHZ_100Hz_2025-11-04_x.json",
     "file name has 7 '_'-separated fields, expected 6 (NET_STA_LOC_CHA_RATEHz_DATE)"},
    {RC_LAYOUT_VIEWER, VIEW_DIR "HV_UWE_--_HHZ_100Hz_2025-11-04.json",
     "file name has 6 '_'-separated fields, expected 5 (NET_STA_LOC_CHA_DATE)"},
    /* viewer key read as seed and vice versa */
    {RC_LAYOUT_SEED, VIEW_DIR "HV_UWE_--_HHZ_2025-11-04.json", "expected 9"},
    {RC_LAYOUT_VIEWER, SEED_DIR "HV_UWE__HHZ_100Hz_2025-11-04.json", "expected 10"},
};

Test(parse, rejections_name_the_part_and_quote_the_key)
{
    for (size_t i = 0; i < sizeof bad_keys / sizeof bad_keys[0]; i++) {
        const bad_key *b = &bad_keys[i];
        rc_key_info ki;
        memset(&ki, 0x5a, sizeof ki);
        rc_err e = {0};
        int rc = rc_key_parse(b->layout, b->key, &ki, &e);
        cr_assert_eq(rc, RC_EINVAL, "accepted: %s", b->key);
        cr_assert_eq(e.code, RC_EINVAL);
        cr_assert(strstr(e.msg, b->part) != NULL, "key %s\n message: %s\n want: %s", b->key, e.msg,
                  b->part);
        if (!strchr(b->key, '\n')) {
            char quoted[RC_KEY_MAX + 32];
            snprintf(quoted, sizeof quoted, "%s key '%s'", rc_layout_name(b->layout), b->key);
            cr_assert(strncmp(e.msg, quoted, strlen(quoted)) == 0, "message: %s", e.msg);
        }
        cr_assert_eq(((unsigned char *)&ki)[0], 0x5a, "output written on failure: %s", b->key);
    }
}

Test(parse, full_message)
{
    rc_key_info ki;
    rc_err e = {0};
    const char *k = SEED_DIR "HV_UWE__HHZ_100Hz_2025-11-04-22-05-00_to_2025-11-04-22-15-00.bin.zst";
    cr_assert_eq(rc_key_parse(RC_LAYOUT_SEED, k, &ki, &e), RC_EINVAL);
    cr_assert_str_eq(e.msg, "seed key 'data/2025/11/HV/kilauea/UWE//HHZ/HV_UWE__HHZ_100Hz_2025-11-"
                            "04-22-05-00_to_2025-11-04-22-15-00.bin.zst': start "
                            "2025-11-04-22-05-00 is not aligned to the 10m span");
}

/* ---- channels, volcanoes, layouts, spans ---- */

Test(chan, parse_forms)
{
    rc_chan c = chan("HV.UWE..HHZ");
    cr_assert_str_eq(c.net, "HV");
    cr_assert_str_eq(c.sta, "UWE");
    cr_assert_str_eq(c.loc, "");
    cr_assert_str_eq(c.cha, "HHZ");
    rc_chan d = chan("HV.UWE.--.HHZ");
    cr_assert_str_eq(d.loc, "");
    cr_assert(rc_chan_equal(&c, &d));
    c = chan("AV.N20K.20.BDF");
    cr_assert_str_eq(c.loc, "20");
    cr_assert_not(rc_chan_equal(&c, &d));
    char s[RC_CHAN_STR_MAX];
    rc_chan_format(&d, s);
    cr_assert_str_eq(s, "HV.UWE..HHZ");
    rc_chan_format(&c, s);
    cr_assert_str_eq(s, "AV.N20K.20.BDF");
    c = chan("XX.ABCDEFGH.12345678.ABCDEFGH");
    rc_chan_format(&c, s);
    cr_assert_str_eq(s, "XX.ABCDEFGH.12345678.ABCDEFGH");
}

Test(chan, rejections)
{
    static const struct {
        const char *s;
        const char *msg;
    } bad[] = {
        {"HV.UWE.HHZ", "channel 'HV.UWE.HHZ' is not NET.STA.LOC.CHA (exactly three dots; empty "
                       "location as NET.STA..CHA or NET.STA.--.CHA)"},
        {"HV.UWE...HHZ", "channel 'HV.UWE...HHZ' is not NET.STA.LOC.CHA"},
        {"", "channel '' is not NET.STA.LOC.CHA"},
        {"hv.UWE..HHZ", "channel 'hv.UWE..HHZ': network code 'hv' has lower-case letters; FDSN "
                        "codes are upper case, write it in capitals"},
        {"HV.UWE..HH/Z", "channel 'HV.UWE..HH/Z': channel code 'HH/Z' has a character other than "
                         "A-Z and 0-9 at position 3"},
        {"HV.UWE..HH_Z", "channel code 'HH_Z' has a character other than A-Z and 0-9"},
        {"HV.UWE.-.HHZ", "location code '-' has a character"},
        {"HV.UWE.---.HHZ", "location code '---'"},
        {"HV.ABCDEFGHI..HHZ", "channel 'HV.ABCDEFGHI..HHZ': station code is longer than 8 "
                              "characters"},
        {".UWE..HHZ", "channel '.UWE..HHZ': network code is empty"},
        {"HV...HHZ", "station code is empty"},
        {"HV.UWE..", "channel code is empty"},
        {"HV.UWE.\x01.HHZ", "channel 'HV.UWE.\\x01.HHZ'"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        rc_chan c;
        memset(&c, 0x5a, sizeof c);
        rc_err e = {0};
        cr_assert_eq(rc_chan_parse(bad[i].s, &c, &e), RC_EINVAL, "accepted: %s", bad[i].s);
        cr_assert(strstr(e.msg, bad[i].msg) != NULL, "%s: %s", bad[i].s, e.msg);
        cr_assert_eq(c.net[0], 0x5a);
    }
}

Test(chan, validate)
{
    rc_err e = {0};
    rc_chan c = {"HV", "UWE", "", "HHZ"};
    cr_assert_eq(rc_chan_validate(&c, &e), RC_OK);
    snprintf(c.loc, sizeof c.loc, "--");
    cr_assert_eq(rc_chan_validate(&c, &e), RC_OK);
    snprintf(c.cha, sizeof c.cha, "hhz");
    cr_assert_eq(rc_chan_validate(&c, &e), RC_EINVAL);
    cr_assert_str_eq(e.msg, "channel code 'hhz' has lower-case letters; FDSN codes are upper case, "
                            "write it in capitals");
    rc_chan u;
    memset(&u, 'A', sizeof u); /* no terminators anywhere */
    cr_assert_eq(rc_chan_validate(&u, &e), RC_EINVAL);
    cr_assert_str_eq(e.msg, "network code 'AAAAAAAAA...' is longer than 8 characters");
}

Test(volcano, validate)
{
    rc_err e = {0};
    static const char *const ok[] = {"kilauea", "great_sitkin", "mauna-loa", "a", "3volc"};
    for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++)
        cr_assert_eq(rc_volcano_validate(ok[i], &e), RC_OK, "%s: %s", ok[i], e.msg);
    static const char *const bad[] = {
        "Kilauea", "",        "_x",
        "-x",      "a/b",     "a..b",
        "a b",     "kīlauea", "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        cr_assert_eq(rc_volcano_validate(bad[i], &e), RC_EINVAL, "accepted: %s", bad[i]);
    rc_volcano_validate("a/b", &e);
    cr_assert_str_eq(e.msg, "volcano name 'a/b' must be lower-case letters, digits, '_' and '-', "
                            "starting with a letter or digit (as in kilauea, great_sitkin)");
    char max[64];
    memset(max, 'a', 63);
    max[63] = '\0';
    cr_assert_eq(rc_volcano_validate(max, &e), RC_OK);
}

Test(layout, names)
{
    rc_layout l;
    rc_err e = {0};
    cr_assert_eq(rc_layout_parse("seed", &l, &e), RC_OK);
    cr_assert_eq(l, RC_LAYOUT_SEED);
    cr_assert_eq(rc_layout_parse("viewer", &l, &e), RC_OK);
    cr_assert_eq(l, RC_LAYOUT_VIEWER);
    cr_assert_eq(rc_layout_parse("Viewer", &l, &e), RC_EINVAL);
    cr_assert_str_eq(e.msg, "layout 'Viewer' is unknown; use \"seed\" or \"viewer\"");
    cr_assert_str_eq(rc_layout_name(RC_LAYOUT_SEED), "seed");
    cr_assert_str_eq(rc_layout_name(RC_LAYOUT_VIEWER), "viewer");
}

Test(span, tables)
{
    cr_assert_eq(rc_span_seconds(RC_SPAN_10M), 600);
    cr_assert_eq(rc_span_seconds(RC_SPAN_1H), 3600);
    cr_assert_eq(rc_span_seconds(RC_SPAN_6H), 21600);
    cr_assert_eq(rc_span_seconds(RC_SPAN_24H), 86400);
    cr_assert_str_eq(rc_span_name(RC_SPAN_10M), "10m");
    cr_assert_str_eq(rc_span_name(RC_SPAN_24H), "24h");
    cr_assert_str_eq(rc_span_manifest_key(RC_LAYOUT_SEED, RC_SPAN_10M), "10min");
    cr_assert_str_eq(rc_span_manifest_key(RC_LAYOUT_SEED, RC_SPAN_6H), "6h");
    cr_assert_str_eq(rc_span_manifest_key(RC_LAYOUT_VIEWER, RC_SPAN_10M), "10m");
    cr_assert_str_eq(rc_span_manifest_key(RC_LAYOUT_VIEWER, RC_SPAN_1H), "1h");
    rc_span s;
    rc_err e = {0};
    cr_assert_eq(rc_span_parse("10min", &s, &e), RC_OK);
    cr_assert_eq(s, RC_SPAN_10M);
    cr_assert_eq(rc_span_parse("10m", &s, &e), RC_OK);
    cr_assert_eq(s, RC_SPAN_10M);
    cr_assert_eq(rc_span_parse("6h", &s, &e), RC_OK);
    cr_assert_eq(s, RC_SPAN_6H);
    cr_assert_eq(rc_span_parse("24h", &s, &e), RC_OK);
    cr_assert_eq(s, RC_SPAN_24H);
    cr_assert_eq(rc_span_parse("2h", &s, &e), RC_EINVAL);
    cr_assert_str_eq(e.msg, "span '2h' is unknown; use 10m, 1h, 6h or 24h");
    cr_assert_eq(rc_span_from_seconds(3600, &s), RC_OK);
    cr_assert_eq(s, RC_SPAN_1H);
    cr_assert_eq(rc_span_from_seconds(7200, &s), RC_EINVAL);
}

/* ---- rates ---- */

Test(rate, format_shortest_decimal)
{
    static const struct {
        double r;
        const char *s;
    } t[] = {{100, "100"},
             {40.96, "40.96"},
             {0.1, "0.1"},
             {50, "50"},
             {20, "20"},
             {1, "1"},
             {0.001, "0.001"},
             {200, "200"},
             {1e-5, "0.00001"},
             {0.3, "0.3"},
             {2.5, "2.5"},
             {1000, "1000"},
             {250, "250"},
             {1.0 / 3, "0.3333333333333333"},
             {4e20, "400000000000000000000"},
             {0.05, "0.05"},
             {5000000, "5000000"}};
    for (size_t i = 0; i < sizeof t / sizeof t[0]; i++) {
        char b[RC_RATE_STR_MAX];
        rc_err e = {0};
        cr_assert_eq(rc_rate_format(t[i].r, b, &e), RC_OK, "%s", e.msg);
        cr_assert_str_eq(b, t[i].s);
        double back = -1;
        cr_assert_eq(rc_rate_parse(b, &back, &e), RC_OK, "%s: %s", b, e.msg);
        cr_assert(back == t[i].r, "%s", b);
    }
    const double refused[] = {0, -1, -0.0, NAN, INFINITY, -INFINITY, 1e-40, 1e40};
    for (size_t i = 0; i < sizeof refused / sizeof refused[0]; i++) {
        char b[RC_RATE_STR_MAX];
        rc_err e = {0};
        cr_assert_eq(rc_rate_format(refused[i], b, &e), RC_EINVAL, "%g accepted", refused[i]);
    }
}

Test(rate, round_trip_many)
{
    for (int k = 1; k <= 5000; k++) {
        const double rs[] = {k / 100.0, 1.0 / k, k * 0.1, k / 1024.0};
        for (int j = 0; j < 4; j++) {
            char b[RC_RATE_STR_MAX];
            double back = 0;
            rc_err e = {0};
            cr_assert_eq(rc_rate_format(rs[j], b, &e), RC_OK, "%.17g: %s", rs[j], e.msg);
            cr_assert(strpbrk(b, "eE+-") == NULL, "%s", b);
            cr_assert_neq(strcmp(b, "0"), 0);
            cr_assert_eq(rc_rate_parse(b, &back, &e), RC_OK, "%s: %s", b, e.msg);
            if (back != rs[j]) cr_assert_fail("%.17g -> %s -> %.17g", rs[j], b, back);
        }
    }
}

Test(rate, parse_rejects_non_canonical)
{
    static const char *const bad[] = {
        "100.0", "1e2",  "+5",  "",    "0",  "-1", "0.10", "00.1",    "010", ".5",
        "5.",    "0x10", "inf", "nan", " 5", "5 ", "0.0",  "0.00000", "1,5", "0.10000000000000001"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        double v = 42;
        rc_err e = {0};
        cr_assert_eq(rc_rate_parse(bad[i], &v, &e), RC_EINVAL, "accepted '%s'", bad[i]);
        cr_assert_eq(v, 42);
        char q[64];
        snprintf(q, sizeof q, "sample rate '%s'", bad[i]);
        cr_assert(strstr(e.msg, q) != NULL, "%s", e.msg);
    }
}

/* ---- index keys (inventory summaries and change markers) ---- */

Test(index, builds_summary_and_marker_keys)
{
    rc_chan c = chan("HV.UWE..HHZ");
    char k[RC_KEY_MAX];
    rc_err e = {0};
    cr_assert_eq(rc_key_index(&c, "kilauea", T1104 + 5 * H, RC_INDEX_SUMMARY, k, sizeof k, &e),
                 RC_OK, "%s", e.msg);
    cr_assert_str_eq(k, "index/kilauea/HV.UWE..HHZ/2025-11.json");
    cr_assert_eq(rc_key_index(&c, "kilauea", T20251231, RC_INDEX_MARKER, k, sizeof k, &e), RC_OK);
    cr_assert_str_eq(k, "index/kilauea/HV.UWE..HHZ/2025-12.dirty");
    rc_chan l = chan("AV.GSTD.01.BHZ");
    cr_assert_eq(rc_key_index(&l, "greatsitkin", T20240229, RC_INDEX_SUMMARY, k, sizeof k, &e),
                 RC_OK);
    cr_assert_str_eq(k, "index/greatsitkin/AV.GSTD.01.BHZ/2024-02.json");
}

Test(index, build_rejects_bad_parts)
{
    rc_chan c = chan("HV.UWE..HHZ");
    char k[RC_KEY_MAX];
    rc_err e = {0};
    cr_assert_eq(rc_key_index(&c, "Kilauea!", T1104, RC_INDEX_SUMMARY, k, sizeof k, &e), RC_EINVAL);
    cr_assert_eq(rc_key_index(&c, "kilauea", T1104, (rc_index_kind)7, k, sizeof k, &e), RC_EINVAL);
    cr_assert(strstr(e.msg, "kind") != NULL, "%s", e.msg);
    cr_assert_eq(rc_key_index(&c, "kilauea", T1104, RC_INDEX_SUMMARY, k, 20, &e), RC_EINVAL);
    cr_assert(strstr(e.msg, "too long") != NULL, "%s", e.msg);
}

Test(index, parses_what_it_builds)
{
    rc_chan c = chan("AV.GSTD.01.BHZ");
    char k[RC_KEY_MAX];
    rc_err e = {0};
    for (int kind = RC_INDEX_SUMMARY; kind <= RC_INDEX_MARKER; kind++) {
        cr_assert_eq(
            rc_key_index(&c, "greatsitkin", T1104 + 3 * DAY, (rc_index_kind)kind, k, sizeof k, &e),
            RC_OK);
        rc_index_id id;
        cr_assert_eq(rc_key_index_parse(k, &id, &e), RC_OK, "%s: %s", k, e.msg);
        cr_assert(rc_chan_equal(&id.chan, &c));
        cr_assert_str_eq(id.volcano, "greatsitkin");
        cr_assert_eq(id.month, 1761955200LL); /* 2025-11-01 */
        cr_assert_eq(id.kind, (rc_index_kind)kind);
    }
    rc_index_id id;
    cr_assert_eq(rc_key_index_parse("index/kilauea/HV.UWE..HHZ/2024-02.dirty", &id, NULL), RC_OK);
    cr_assert_str_eq(id.chan.loc, "");
    cr_assert_eq(id.month, 1706745600LL); /* 2024-02-01 */
}

Test(index, parse_rejects_other_keys)
{
    static const char *const bad[] = {
        "data/2025/11/HV/kilauea/UWE/--/HHZ/x.json", /* not under index/ */
        "index/kilauea/HV.UWE..HHZ/2025-11.txt",     /* other extension */
        "index/kilauea/HV.UWE..HHZ/2025-13.json",    /* month 13 */
        "index/kilauea/HV.UWE..HHZ/2025-1.json",     /* not YYYY-MM */
        "index/kilauea/HV.UWE/2025-11.json",         /* not a channel */
        "index//HV.UWE..HHZ/2025-11.json",           /* no volcano */
        "index/kilauea/2025-11.json",                /* no channel folder */
        "index/kilauea/HV.UWE..HHZ/2025-11.json/x",  /* deeper */
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        rc_index_id id;
        rc_err e = {0};
        cr_assert_eq(rc_key_index_parse(bad[i], &id, &e), RC_EINVAL, "accepted %s", bad[i]);
        cr_assert(e.msg[0] != '\0', "%s: no message", bad[i]);
    }
}

Test(index, prefix)
{
    char p[RC_KEY_MAX];
    rc_key_index_prefix(NULL, p, sizeof p);
    cr_assert_str_eq(p, "index/");
    rc_key_index_prefix("", p, sizeof p);
    cr_assert_str_eq(p, "index/");
    rc_key_index_prefix("kilauea", p, sizeof p);
    cr_assert_str_eq(p, "index/kilauea/");
}

/* ---- the folder of a stray key ---- */

Test(folder, names_the_channel_day_of_a_stray_key)
{
    rc_chan c;
    char v[RC_VOLCANO_MAX];
    int64_t day = 0;
    cr_assert_eq(
        rc_key_folder(RC_LAYOUT_SEED, "data/2025/11/HV/kilauea/UWE/--/HHZ/junk.bin", &c, v, &day),
        RC_OK);
    cr_assert_str_eq(c.net, "HV");
    cr_assert_str_eq(c.sta, "UWE");
    cr_assert_str_eq(c.loc, "");
    cr_assert_str_eq(c.cha, "HHZ");
    cr_assert_str_eq(v, "kilauea");
    cr_assert_eq(day, 1761955200LL); /* seed: the month's first day */
    cr_assert_eq(rc_key_folder(RC_LAYOUT_VIEWER, "data/2025/11/04/AV/greatsitkin/GSTD/01/BHZ/x", &c,
                               v, &day),
                 RC_OK);
    cr_assert_str_eq(c.loc, "01");
    cr_assert_str_eq(v, "greatsitkin");
    cr_assert_eq(day, T1104);
}

Test(folder, rejects_folders_that_name_nothing)
{
    rc_chan c;
    char v[RC_VOLCANO_MAX];
    int64_t day;
    cr_assert_eq(rc_key_folder(RC_LAYOUT_SEED, "data/2025/11/HV/kilauea/UWE/--/x", &c, v, &day),
                 RC_EINVAL); /* too shallow */
    cr_assert_eq(rc_key_folder(RC_LAYOUT_SEED, "data/2025/13/HV/kilauea/UWE/--/HHZ/x", &c, v, &day),
                 RC_EINVAL); /* month 13 */
    cr_assert_eq(
        rc_key_folder(RC_LAYOUT_SEED, "other/2025/11/HV/kilauea/UWE/--/HHZ/x", &c, v, &day),
        RC_EINVAL);
    cr_assert_eq(
        rc_key_folder(RC_LAYOUT_SEED, "data/2025/11/HV/kilauea/UWE/--/HHZTOOLONG/x", &c, v, &day),
        RC_EINVAL);
    cr_assert_eq(rc_key_folder(RC_LAYOUT_VIEWER, "data/2025/11/31/AV/greatsitkin/GSTD/01/BHZ/x", &c,
                               v, &day),
                 RC_EINVAL); /* November 31 */
}

Test(chan, set_copies_codes_or_refuses_long_ones)
{
    rc_chan c;
    cr_assert_eq(rc_chan_set(&c, "HV", "UWE", "", "HHZ"), RC_OK);
    cr_assert_str_eq(c.net, "HV");
    cr_assert_str_eq(c.sta, "UWE");
    cr_assert_str_eq(c.loc, "");
    cr_assert_str_eq(c.cha, "HHZ");
    cr_assert_eq(rc_chan_set(&c, "HV", "ABCDEFGHI", "", "HHZ"), RC_EINVAL);
    cr_assert_str_eq(c.net, "");
}
