package dynamolocal

import (
	"context"
	"fmt"

	lambdaevents "github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodbstreams"
	stypes "github.com/aws/aws-sdk-go-v2/service/dynamodbstreams/types"
)

// StreamEvent reads every record of table's stream so far (each shard from
// TRIM_HORIZON to its end or to an empty page) and returns them as the Lambda
// event a DynamoDB event source mapping would hand a function, so tests can
// run a stream-consumer handler on what the server really streamed. Only
// string and number attributes of the images are carried.
func (s *Server) StreamEvent(ctx context.Context, table string) (lambdaevents.DynamoDBEvent, error) {
	var ev lambdaevents.DynamoDBEvent
	sc := s.StreamsClient()
	ls, err := sc.ListStreams(ctx, &dynamodbstreams.ListStreamsInput{TableName: aws.String(table)})
	if err != nil {
		return ev, err
	}
	if len(ls.Streams) == 0 {
		return ev, fmt.Errorf("dynamolocal: table %s has no stream", table)
	}
	arn := ls.Streams[len(ls.Streams)-1].StreamArn
	ds, err := sc.DescribeStream(ctx, &dynamodbstreams.DescribeStreamInput{StreamArn: arn})
	if err != nil {
		return ev, err
	}
	for _, sh := range ds.StreamDescription.Shards {
		it, err := sc.GetShardIterator(ctx, &dynamodbstreams.GetShardIteratorInput{StreamArn: arn, ShardId: sh.ShardId, ShardIteratorType: stypes.ShardIteratorTypeTrimHorizon})
		if err != nil {
			return ev, err
		}
		for iter, empty := it.ShardIterator, 0; iter != nil && empty < 2; {
			out, err := sc.GetRecords(ctx, &dynamodbstreams.GetRecordsInput{ShardIterator: iter})
			if err != nil {
				return ev, err
			}
			if len(out.Records) == 0 {
				empty++
			}
			for _, r := range out.Records {
				ev.Records = append(ev.Records, lambdaRecord(r))
			}
			iter = out.NextShardIterator
		}
	}
	return ev, nil
}

func lambdaRecord(r stypes.Record) lambdaevents.DynamoDBEventRecord {
	img := map[string]lambdaevents.DynamoDBAttributeValue{}
	for k, v := range r.Dynamodb.NewImage {
		switch v := v.(type) {
		case *stypes.AttributeValueMemberS:
			img[k] = lambdaevents.NewStringAttribute(v.Value)
		case *stypes.AttributeValueMemberN:
			img[k] = lambdaevents.NewNumberAttribute(v.Value)
		}
	}
	return lambdaevents.DynamoDBEventRecord{
		EventID: aws.ToString(r.EventID), EventName: string(r.EventName), EventSource: "aws:dynamodb",
		Change: lambdaevents.DynamoDBStreamRecord{SequenceNumber: aws.ToString(r.Dynamodb.SequenceNumber), NewImage: img, StreamViewType: "NEW_IMAGE"},
	}
}
