/* s3xml.c: placeholder until the S3 XML parsers land (issue 3). */
typedef int rc_s3xml_placeholder;
