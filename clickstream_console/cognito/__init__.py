"""The Cognito page: an identity's datasets as Cognito Streams delivered them."""
